/**
 * Exact conversions between float64 and the 16-bit formats F16 (IEEE binary16) and BF16 (bfloat16).
 * Encoding rounds straight from float64 to nearest-even; going through float32 first would
 * double-round and occasionally pick the wrong neighbour.
 */

interface SmallFloatFormat {
  readonly mantBits: number;
  readonly mantScale: number; // 2^mantBits
  readonly mantMask: number;
  readonly expMask: number; // all-ones exponent field (Inf/NaN)
  readonly bias: number;
  readonly emin: number; // exponent of the smallest normal
  readonly minNormal: number;
  readonly signBit: number;
  readonly infBits: number;
  readonly nanBits: number;
}

const scratch = new DataView(new ArrayBuffer(8));

/** Exact 2^k for -1022 <= k <= 1023, built from the bit pattern (Math.pow is not guaranteed exact). */
function pow2(k: number): number {
  scratch.setUint32(0, (k + 1023) << 20);
  scratch.setUint32(4, 0);
  return scratch.getFloat64(0);
}

/** floor(log2(a)) for a positive normal float64, read from its exponent field. */
function exponentOf(a: number): number {
  scratch.setFloat64(0, a);
  return ((scratch.getUint32(0) >>> 20) & 0x7ff) - 1023;
}

function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const frac = v - floor; // exact: v < 2^12 here
  if (frac > 0.5) return floor + 1;
  if (frac < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function makeFormat(expBits: number, mantBits: number): SmallFloatFormat {
  const bias = (1 << (expBits - 1)) - 1;
  const expMask = (1 << expBits) - 1;
  return {
    mantBits,
    mantScale: 1 << mantBits,
    mantMask: (1 << mantBits) - 1,
    expMask,
    bias,
    emin: 1 - bias,
    minNormal: pow2(1 - bias),
    signBit: 1 << (expBits + mantBits),
    infBits: expMask << mantBits,
    nanBits: (expMask << mantBits) | (1 << (mantBits - 1)),
  };
}

const F16 = makeFormat(5, 10);
const BF16 = makeFormat(8, 7);

function decode(bits: number, f: SmallFloatFormat): number {
  const sign = bits & f.signBit ? -1 : 1;
  const exp = (bits >>> f.mantBits) & f.expMask;
  const mant = bits & f.mantMask;
  if (exp === 0) return sign * mant * pow2(f.emin - f.mantBits); // zero or subnormal
  if (exp === f.expMask) return mant === 0 ? sign * Infinity : NaN;
  return sign * (f.mantScale + mant) * pow2(exp - f.bias - f.mantBits);
}

function encode(x: number, f: SmallFloatFormat): number {
  if (Number.isNaN(x)) return f.nanBits;
  const sign = x < 0 || Object.is(x, -0) ? f.signBit : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | f.infBits;
  // Subnormals share the quantum of the smallest normal exponent.
  const e = a < f.minNormal ? f.emin : exponentOf(a);
  // q is the significand in units of the quantum 2^(e - mantBits); the scaling is exact.
  const q = roundHalfEven(a * pow2(f.mantBits - e));
  // Adding q (which may be 2^(mantBits+1) after rounding up) carries into the exponent field.
  const magnitude = (e - f.emin) * f.mantScale + q;
  return sign | (magnitude >= f.infBits ? f.infBits : magnitude);
}

/** Value of an F16 bit pattern (low 16 bits of `bits`), exactly. */
export function float16ToFloat64(bits: number): number {
  return decode(bits & 0xffff, F16);
}

/** F16 bit pattern nearest to x (ties to even); overflow gives ±Inf, NaN gives 0x7e00. */
export function float64ToFloat16Bits(x: number): number {
  return encode(x, F16);
}

/** Value of a BF16 bit pattern (low 16 bits of `bits`), exactly. */
export function bfloat16ToFloat64(bits: number): number {
  return decode(bits & 0xffff, BF16);
}

/** BF16 bit pattern nearest to x (ties to even); overflow gives ±Inf, NaN gives 0x7fc0. */
export function float64ToBfloat16Bits(x: number): number {
  return encode(x, BF16);
}

let f16Table: Float64Array | undefined;
let bf16Table: Float64Array | undefined;

/** Lookup tables for bulk decoding: 65536 entries each, built on first use. */
export function float16Table(): Float64Array {
  f16Table ??= buildTable(F16);
  return f16Table;
}

export function bfloat16Table(): Float64Array {
  bf16Table ??= buildTable(BF16);
  return bf16Table;
}

function buildTable(f: SmallFloatFormat): Float64Array {
  const table = new Float64Array(65536);
  for (let bits = 0; bits < 65536; bits++) table[bits] = decode(bits, f);
  return table;
}
