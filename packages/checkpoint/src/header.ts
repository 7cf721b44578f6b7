import { CheckpointError, brief, describeKind, quote } from "./errors.js";
import { DTYPES, DTYPE_BYTES, isDtype } from "./dtypes.js";
import type { Dtype } from "./dtypes.js";

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Element count (product of the shape). */
  size: number;
  /** [begin, end) in bytes, relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** In the order they appear in the header JSON. */
  tensors: TensorInfo[];
  metadata: Record<string, string>;
  /** Absolute byte offset of the data section (8 + header length). */
  dataStart: number;
}

/** Same cap as the reference implementation: a bigger header is corrupt or hostile. */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = "__metadata__";
const ENTRY_KEYS = ["dtype", "shape", "data_offsets"] as const;

/**
 * Validate a safetensors header (the JSON bytes after the 8-byte length prefix).
 * `dataSectionLength` is the number of bytes after the header, used to reject offsets past the end.
 */
export function parseHeader(headerBytes: Uint8Array, fileLabel: string, dataSectionLength: number): SafetensorsHeader {
  const fail = (message: string): never => {
    throw new CheckpointError(`${fileLabel}: ${message}`);
  };

  let text: string;
  try {
    // fatal: reject invalid UTF-8 instead of silently inserting U+FFFD; ignoreBOM: keep a BOM so JSON.parse rejects it.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    return fail(`header (${headerBytes.length} bytes) is not valid UTF-8`);
  }

  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    return fail(`header is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof root !== "object" || root === null || Array.isArray(root)) {
    return fail(`header must be a JSON object mapping tensor names to entries, got ${describeKind(root)}`);
  }
  const rootObject = root as Record<string, unknown>;

  // JSON.parse keeps the last of duplicate keys silently, and reorders integer-like keys;
  // scanning the text gives both the duplicates and the true header order.
  const scan = scanKeys(text);
  if (scan.duplicate) {
    const { parent, key } = scan.duplicate;
    if (parent === undefined) fail(`duplicate tensor name ${quote(key)} in header`);
    else if (parent === METADATA_KEY) fail(`${METADATA_KEY}: duplicate key ${quote(key)}`);
    else fail(`tensor ${quote(parent)}: duplicate key ${quote(key)}`);
  }

  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const name of scan.rootKeys) {
    const value = rootObject[name];
    if (name === METADATA_KEY) metadata = parseMetadata(value, fail);
    else tensors.push(parseEntry(name, value, dataSectionLength, fail));
  }
  checkOverlaps(tensors, fail);
  return { tensors, metadata, dataStart: 8 + headerBytes.length };
}

type Fail = (message: string) => never;

function parseMetadata(value: unknown, fail: Fail): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail(`${METADATA_KEY} must be an object of string values, got ${describeKind(value)}`);
  }
  const entries = Object.entries(value);
  for (const [key, item] of entries) {
    if (typeof item !== "string") {
      fail(`${METADATA_KEY}: key ${quote(key)} must have a string value, got ${describeKind(item)} ${brief(item)}`);
    }
  }
  // fromEntries defines own properties, so a "__proto__" key stays data rather than a prototype.
  return Object.fromEntries(entries) as Record<string, string>;
}

function parseEntry(name: string, value: unknown, dataSectionLength: number, fail: Fail): TensorInfo {
  if (name.length === 0) fail(`tensor name must be non-empty`);
  const at = `tensor ${quote(name)}`;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail(`${at}: entry must be an object with dtype, shape and data_offsets, got ${describeKind(value)}`);
  }
  const entry = value as Record<string, unknown>;
  for (const key of Object.keys(entry)) {
    if (!(ENTRY_KEYS as readonly string[]).includes(key)) {
      fail(`${at}: unknown key ${quote(key)} (expected only dtype, shape, data_offsets)`);
    }
  }
  for (const key of ENTRY_KEYS) {
    if (!Object.hasOwn(entry, key)) fail(`${at}: missing ${quote(key)}`);
  }

  const dtype = entry.dtype;
  if (typeof dtype !== "string") return fail(`${at}: dtype must be a string, got ${describeKind(dtype)} ${brief(dtype)}`);
  if (!isDtype(dtype)) return fail(`${at}: unknown dtype ${quote(dtype)} (expected one of ${DTYPES.join(", ")})`);

  const rawShape = entry.shape;
  if (!Array.isArray(rawShape)) return fail(`${at}: shape must be an array of non-negative integers, got ${describeKind(rawShape)} ${brief(rawShape)}`);
  rawShape.forEach((dim: unknown, axis) => {
    if (!isNonNegativeSafeInteger(dim)) {
      fail(`${at}: shape[${axis}] is ${brief(dim)}, expected a non-negative integer (shape ${brief(rawShape)})`);
    }
  });
  const shape = rawShape as number[];
  const shapeText = `[${shape.join(",")}]`;
  const size = shape.includes(0) ? 0 : shape.reduce((product, dim) => product * dim, 1);
  const nbytes = size * DTYPE_BYTES[dtype];
  if (!Number.isSafeInteger(nbytes)) fail(`${at}: shape ${shapeText} is too large (${dtype} byte count exceeds 2^53)`);

  const offsets = entry.data_offsets;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !isNonNegativeSafeInteger(offsets[0]) ||
    !isNonNegativeSafeInteger(offsets[1]) ||
    offsets[0] > offsets[1]
  ) {
    return fail(`${at}: data_offsets must be [begin, end] with non-negative integers begin <= end, got ${brief(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end - begin !== nbytes) {
    fail(`${at}: data_offsets [${begin}, ${end}] cover ${end - begin} bytes but ${dtype} ${shapeText} needs ${nbytes}`);
  }
  if (end > dataSectionLength) {
    fail(`${at}: data_offsets [${begin}, ${end}] point past the end of the file (data section is ${dataSectionLength} bytes; truncated?)`);
  }
  return { name, dtype, shape: [...shape], size, dataOffsets: [begin, end] };
}

function isNonNegativeSafeInteger(value: unknown): value is number {
  // Object.is rejects -0 too, which JSON "-0" would otherwise sneak through as a shape entry.
  return Number.isSafeInteger(value) && (value as number) >= 0 && !Object.is(value, -0);
}

function checkOverlaps(tensors: readonly TensorInfo[], fail: Fail): void {
  // Empty ranges hold no bytes, so they cannot collide with anything.
  const sorted = tensors
    .filter((t) => t.dataOffsets[1] > t.dataOffsets[0])
    .sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  // Sorted by begin, any overlap shows up between neighbours: a range starting inside an
  // earlier one also starts inside (or right at the end of) every range in between.
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (b.dataOffsets[0] < a.dataOffsets[1]) {
      fail(
        `tensors ${quote(a.name)} [${a.dataOffsets.join(", ")}] and ${quote(b.name)} [${b.dataOffsets.join(", ")}] have overlapping data_offsets`,
      );
    }
  }
}

interface KeyScan {
  /** Top-level keys in textual order. */
  rootKeys: string[];
  /** First repeated key: at the root (parent undefined) or inside a root-level object. */
  duplicate?: { parent: string | undefined; key: string };
}

/**
 * Walk the (already JSON.parse-validated) text and collect keys of the root object and of the
 * objects directly under it. Iterative, so deeply nested junk cannot overflow the stack.
 */
function scanKeys(text: string): KeyScan {
  let i = skipWhitespace(text, 0) + 1; // past the root '{'
  const rootKeys: string[] = [];
  const seenRoot = new Set<string>();
  for (;;) {
    i = skipWhitespace(text, i);
    if (text.charCodeAt(i) === 0x7d /* } */) return { rootKeys };
    if (text.charCodeAt(i) === 0x2c /* , */) i = skipWhitespace(text, i + 1);
    const [key, afterKey] = readString(text, i);
    if (seenRoot.has(key)) return { rootKeys, duplicate: { parent: undefined, key } };
    seenRoot.add(key);
    rootKeys.push(key);
    i = skipWhitespace(text, skipWhitespace(text, afterKey) + 1); // past ':'
    if (text.charCodeAt(i) === 0x7b /* { */) {
      const inner = scanObjectKeys(text, i);
      if (inner.duplicate !== undefined) return { rootKeys, duplicate: { parent: key, key: inner.duplicate } };
      i = inner.end;
    } else {
      i = skipValue(text, i);
    }
  }
}

/** Keys of the object starting at text[start] === '{'; returns the first duplicate and the index after '}'. */
function scanObjectKeys(text: string, start: number): { duplicate?: string; end: number } {
  const seen = new Set<string>();
  let i = start + 1;
  for (;;) {
    i = skipWhitespace(text, i);
    if (text.charCodeAt(i) === 0x7d) return { end: i + 1 };
    if (text.charCodeAt(i) === 0x2c) i = skipWhitespace(text, i + 1);
    const [key, afterKey] = readString(text, i);
    if (seen.has(key)) return { duplicate: key, end: i };
    seen.add(key);
    i = skipValue(text, skipWhitespace(text, skipWhitespace(text, afterKey) + 1));
  }
}

/** Decoded string starting at text[start] === '"', and the index after its closing quote. */
function readString(text: string, start: number): [string, number] {
  let i = start + 1;
  let escaped = false;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) break;
    if (c === 0x5c /* \ */) {
      escaped = true;
      i += 2;
    } else {
      i += 1;
    }
  }
  // Decode escapes exactly as JSON.parse did, so "a" and "\u0061" are recognised as the same key.
  const value = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
  return [value, i + 1];
}

/** Index just after the JSON value starting at text[start]. */
function skipValue(text: string, start: number): number {
  let i = start;
  let depth = 0;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = readStringEnd(text, i);
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return i; // closing bracket of the enclosing container
      depth--;
      i++;
    } else if (c === 0x2c && depth === 0) {
      return i;
    } else if (Number.isNaN(c)) {
      return i;
    } else {
      i++;
    }
    if (depth === 0 && (c === 0x22 || c === 0x7d || c === 0x5d)) return i;
  }
}

function readStringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    i += c === 0x5c ? 2 : 1;
  }
}

function skipWhitespace(text: string, start: number): number {
  let i = start;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}
