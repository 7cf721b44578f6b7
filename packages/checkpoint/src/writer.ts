import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { CheckpointError, describeIoError, describeKind, quote } from "./errors.js";
import { DTYPE_BYTES, FLOAT_DTYPES, isFloatDtype } from "./dtypes.js";
import type { FloatDtype } from "./dtypes.js";
import { float64ToBfloat16Bits, float64ToFloat16Bits } from "./float16.js";

export interface TensorToWrite {
  name: string;
  dtype: FloatDtype;
  shape: number[];
  data: ArrayLike<number>;
}

/** Label used in error messages when there is no file yet. */
const MEMORY_LABEL = "<encodeSafetensors>";

/**
 * Serialize tensors to safetensors bytes. Values are rounded to each tensor's dtype
 * (nearest-even), the header is space-padded to a multiple of 8 so the data section is aligned,
 * and tensor data is packed in the given order.
 */
export function encodeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  return encode(tensors, metadata, MEMORY_LABEL);
}

function encode(tensors: readonly TensorToWrite[], metadata: Record<string, string> | undefined, label: string): Uint8Array {
  const fail = (message: string): never => {
    throw new CheckpointError(`${label}: ${message}`);
  };
  if (!Array.isArray(tensors)) fail(`tensors must be an array, got ${describeKind(tensors)}`);

  // The header is assembled as text by hand: building a JS object keyed by tensor name would
  // turn a tensor called "__proto__" into a prototype change instead of a key.
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
      fail(`__metadata__ must be an object of string values, got ${describeKind(metadata)}`);
    }
    const items = Object.entries(metadata).map(([key, value]) => {
      if (typeof value !== "string") fail(`__metadata__: key ${quote(key)} must have a string value, got ${describeKind(value)}`);
      return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
    });
    parts.push(`"__metadata__":{${items.join(",")}}`);
  }

  const names = new Set<string>();
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    const name: unknown = t?.name;
    if (typeof name !== "string" || name.length === 0) fail(`tensor name must be a non-empty string, got ${quote(String(name))}`);
    const at = `tensor ${quote(t.name)}`;
    if (t.name === "__metadata__") fail(`${at}: name is reserved for metadata`);
    if (names.has(t.name)) fail(`${at}: duplicate tensor name`);
    names.add(t.name);
    if (!isFloatDtype(t.dtype)) fail(`${at}: cannot write dtype ${quote(String(t.dtype))} (expected one of ${FLOAT_DTYPES.join(", ")})`);
    if (!Array.isArray(t.shape)) fail(`${at}: shape must be an array of non-negative integers, got ${describeKind(t.shape)}`);
    t.shape.forEach((dim, axis) => {
      if (!Number.isSafeInteger(dim) || dim < 0) fail(`${at}: shape[${axis}] is ${String(dim)}, expected a non-negative integer`);
    });
    const size = t.shape.reduce((product, dim) => product * dim, 1);
    if (!Number.isSafeInteger(size * DTYPE_BYTES[t.dtype])) fail(`${at}: shape [${t.shape.join(",")}] is too large`);
    const length: unknown = t.data?.length;
    if (typeof length !== "number") fail(`${at}: data must be array-like, got ${describeKind(t.data)}`);
    if (length !== size) fail(`${at}: data has ${String(length)} values but shape [${t.shape.join(",")}] needs ${size}`);
    const nbytes = size * DTYPE_BYTES[t.dtype];
    const entry = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + nbytes] };
    parts.push(`${JSON.stringify(t.name)}:${JSON.stringify(entry)}`);
    sizes.push(size);
    offset += nbytes;
  }

  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerLength = Math.ceil(json.length / 8) * 8; // 8 + headerLength stays 8-aligned too
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);

  let position = 8 + headerLength;
  tensors.forEach((t, index) => {
    const data = t.data;
    const size = sizes[index];
    for (let i = 0; i < size; i++) {
      const value = data[i];
      if (typeof value !== "number") fail(`tensor ${quote(t.name)}: data[${i}] is ${describeKind(value)}, expected a number`);
    }
    // setFloat32 rounds to nearest-even (ECMAScript ToFloat32); F16/BF16 round in float16.ts.
    switch (t.dtype) {
      case "F64":
        for (let i = 0; i < size; i++, position += 8) view.setFloat64(position, data[i], true);
        break;
      case "F32":
        for (let i = 0; i < size; i++, position += 4) view.setFloat32(position, data[i], true);
        break;
      case "F16":
        for (let i = 0; i < size; i++, position += 2) view.setUint16(position, float64ToFloat16Bits(data[i]), true);
        break;
      case "BF16":
        for (let i = 0; i < size; i++, position += 2) view.setUint16(position, float64ToBfloat16Bits(data[i]), true);
        break;
    }
  });
  return out;
}

/**
 * Write a safetensors file atomically: everything is validated and encoded first, then written to
 * a sibling temp file that is renamed over `path`, so readers never see a half-written checkpoint.
 */
export async function writeSafetensors(path: string, tensors: TensorToWrite[], metadata?: Record<string, string>): Promise<void> {
  const bytes = encode(tensors, metadata, path); // throws before any file is touched
  const tempPath = `${path}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
  let handle: FileHandle | undefined;
  try {
    handle = await open(tempPath, "wx");
    await handle.writeFile(bytes);
    await handle.sync(); // data must be on disk before the rename makes it visible
    await handle.close();
    handle = undefined;
    await rename(tempPath, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(tempPath, { force: true }).catch(() => undefined);
    throw new CheckpointError(`${path}: write failed (${describeIoError(error)})`, { cause: error });
  }
}
