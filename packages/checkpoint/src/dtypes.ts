export type Dtype =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U64"
  | "U32"
  | "U16"
  | "U8"
  | "BOOL"
  | "F8_E4M3"
  | "F8_E5M2";

export type FloatDtype = "F64" | "F32" | "F16" | "BF16";

/** Bytes per element of each safetensors dtype. */
export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = Object.freeze({
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
});

export const DTYPES: readonly Dtype[] = Object.freeze(Object.keys(DTYPE_BYTES) as Dtype[]);

/** The dtypes this package can widen to float64 and write. */
export const FLOAT_DTYPES: readonly FloatDtype[] = Object.freeze(["F64", "F32", "F16", "BF16"] as FloatDtype[]);

export function isDtype(value: unknown): value is Dtype {
  // hasOwn, not `in`: "toString" or "__proto__" must not count as dtypes.
  return typeof value === "string" && Object.hasOwn(DTYPE_BYTES, value);
}

export function isFloatDtype(value: unknown): value is FloatDtype {
  return typeof value === "string" && (FLOAT_DTYPES as readonly string[]).includes(value);
}
