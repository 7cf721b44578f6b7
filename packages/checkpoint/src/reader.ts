import { open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { CheckpointError, describeIoError, quote } from "./errors.js";
import { FLOAT_DTYPES } from "./dtypes.js";
import { formatIndex } from "./values.js";
import { bfloat16Table, float16Table } from "./float16.js";
import { MAX_HEADER_BYTES, parseHeader } from "./header.js";
import type { SafetensorsHeader, TensorInfo } from "./header.js";

/**
 * An open safetensors file. Only the header is read up front; tensors are read on demand with
 * positioned reads, so a large checkpoint never has to fit in memory.
 */
export class SafetensorsFile {
  readonly path: string;
  readonly header: SafetensorsHeader;
  private readonly byName: Map<string, TensorInfo>;
  private handle: FileHandle | undefined;

  /** Use openSafetensors; the constructor takes ownership of an already validated handle. */
  constructor(path: string, header: SafetensorsHeader, handle: FileHandle) {
    this.path = path;
    this.header = header;
    this.handle = handle;
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    const found = this.byName.get(name);
    if (found) return found;
    const names = this.header.tensors.map((t) => quote(t.name));
    const listed = names.length > 8 ? `${names.slice(0, 8).join(", ")}, ...` : names.join(", ");
    throw new CheckpointError(`${this.path}: tensor ${quote(name)} not found (file has ${names.length} tensors: ${listed || "none"})`);
  }

  /** The tensor's values widened exactly to float64. Supports F64, F32, F16 and BF16. */
  async readFloat64(name: string): Promise<Float64Array> {
    const t = this.info(name);
    if (!(FLOAT_DTYPES as readonly string[]).includes(t.dtype)) {
      throw new CheckpointError(
        `${this.path}: tensor ${quote(name)} has dtype ${t.dtype}; readFloat64 supports ${FLOAT_DTYPES.join(", ")}`,
      );
    }
    const [begin, end] = t.dataOffsets;
    const bytes = await this.readBytes(this.header.dataStart + begin, end - begin, `tensor ${quote(name)}`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = new Float64Array(t.size);
    // DataView reads are explicitly little-endian and need no alignment, whatever the host.
    switch (t.dtype) {
      case "F64":
        for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
        break;
      case "F32":
        for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
        break;
      case "F16": {
        const table = float16Table();
        for (let i = 0; i < out.length; i++) out[i] = table[view.getUint16(i * 2, true)];
        break;
      }
      case "BF16": {
        const table = bfloat16Table();
        for (let i = 0; i < out.length; i++) out[i] = table[view.getUint16(i * 2, true)];
        break;
      }
    }
    return out;
  }

  /**
   * An integer tensor (I64, I32, I16, I8, U8: token or class ids) as float64 values; a value
   * beyond ±2^53, which float64 cannot hold exactly, is refused by its index.
   */
  async readIntegers(name: string): Promise<Float64Array> {
    const t = this.info(name);
    const width = INTEGER_DTYPES[t.dtype];
    if (width === undefined) {
      throw new CheckpointError(`${this.path}: tensor ${quote(name)} has dtype ${t.dtype}; readIntegers supports ${Object.keys(INTEGER_DTYPES).join(", ")}`);
    }
    const [begin, end] = t.dataOffsets;
    const bytes = await this.readBytes(this.header.dataStart + begin, end - begin, `tensor ${quote(name)}`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = new Float64Array(t.size);
    for (let i = 0; i < out.length; i++) {
      if (t.dtype === "I64") {
        const value = view.getBigInt64(i * 8, true);
        if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
          throw new CheckpointError(`${this.path}: tensor ${quote(name)}${formatIndex(t.shape, i)} = ${value} is too large to be an id`);
        }
        out[i] = Number(value);
      } else if (t.dtype === "I32") out[i] = view.getInt32(i * 4, true);
      else if (t.dtype === "I16") out[i] = view.getInt16(i * 2, true);
      else if (t.dtype === "I8") out[i] = view.getInt8(i);
      else out[i] = view.getUint8(i);
    }
    return out;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  private async readBytes(position: number, length: number, what: string): Promise<Uint8Array> {
    if (!this.handle) throw new CheckpointError(`${this.path}: ${what}: file is closed`);
    return readExactly(this.handle, position, length, `${this.path}: ${what}`);
  }
}

/** Open and validate a safetensors file; tensors are read later, on demand. */
/** Opens and validates a file; errors name it by `label` (its path unless given, e.g. "the uploaded checkpoint"). */
/** Bytes per value of the integer dtypes readIntegers reads. */
const INTEGER_DTYPES: Readonly<Record<string, number>> = { I64: 8, I32: 4, I16: 2, I8: 1, U8: 1 };

export async function openSafetensors(path: string, label = path): Promise<SafetensorsFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw new CheckpointError(`${label}: cannot open file (${describeIoError(error)})`, { cause: error });
  }
  try {
    const header = await readHeader(handle, label);
    return new SafetensorsFile(label, header, handle);
  } catch (error) {
    await handle.close().catch(() => undefined); // the original error matters more than a close failure
    throw error;
  }
}

async function readHeader(handle: FileHandle, path: string): Promise<SafetensorsHeader> {
  let fileSize: number;
  try {
    fileSize = (await handle.stat()).size;
  } catch (error) {
    throw new CheckpointError(`${path}: cannot stat file (${describeIoError(error)})`, { cause: error });
  }
  if (fileSize < 8) {
    throw new CheckpointError(`${path}: file is ${fileSize} bytes, shorter than the 8-byte header length prefix`);
  }
  const prefix = await readExactly(handle, 0, 8, `${path}: header length`);
  // u64 little-endian: read as BigInt so lengths past 2^53 are compared exactly, not rounded.
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length === 0n) throw new CheckpointError(`${path}: header length is 0, expected a JSON header`);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new CheckpointError(`${path}: header length ${length} exceeds the ${MAX_HEADER_BYTES}-byte limit (is this a safetensors file?)`);
  }
  const headerLength = Number(length);
  if (headerLength > fileSize - 8) {
    throw new CheckpointError(
      `${path}: header length ${headerLength} exceeds the ${fileSize - 8} bytes after the length prefix (truncated?)`,
    );
  }
  const headerBytes = await readExactly(handle, 8, headerLength, `${path}: header`);
  return parseHeader(headerBytes, path, fileSize - 8 - headerLength);
}

/** Positioned read of exactly `length` bytes; short reads are retried, EOF is an error. */
async function readExactly(handle: FileHandle, position: number, length: number, what: string): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, filled, length - filled, position + filled));
    } catch (error) {
      throw new CheckpointError(`${what}: read failed (${describeIoError(error)})`, { cause: error });
    }
    if (bytesRead === 0) {
      throw new CheckpointError(
        `${what}: unexpected end of file at byte ${position + filled}, expected ${length} bytes from byte ${position} (file truncated or changed?)`,
      );
    }
    filled += bytesRead;
  }
  return buffer;
}
