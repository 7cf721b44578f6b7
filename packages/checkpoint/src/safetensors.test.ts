import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CheckpointError,
  MAX_HEADER_BYTES,
  bfloat16ToFloat64,
  encodeSafetensors,
  firstNonFinite,
  float16ToFloat64,
  float64ToBfloat16Bits,
  float64ToFloat16Bits,
  formatIndex,
  openSafetensors,
  parseHeader,
  writeSafetensors,
} from "./index.js";
import type { FloatDtype, TensorToWrite } from "./index.js";

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gradcheck-checkpoint-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh empty directory per test, so "nothing was left behind" can be checked by listing it. */
async function freshDir(): Promise<string> {
  const path = join(dir, `case-${counter++}`);
  await mkdir(path);
  return path;
}

function u64le(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value, true);
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A file with the given header text (length prefix computed) followed by `dataLength` zero bytes. */
function rawFile(header: string, dataLength: number): Uint8Array {
  const json = new TextEncoder().encode(header);
  return concat(u64le(BigInt(json.length)), json, new Uint8Array(dataLength));
}

async function writeBytes(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(await freshDir(), name);
  await writeFile(path, bytes);
  return path;
}

async function openError(bytes: Uint8Array): Promise<CheckpointError> {
  const path = await writeBytes("bad.safetensors", bytes);
  try {
    const file = await openSafetensors(path);
    await file.close();
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    const e = error as CheckpointError;
    expect(e.name).toBe("CheckpointError");
    expect(e.message.startsWith(`${path}: `)).toBe(true);
    expect(e.message).not.toContain("\n");
    return e;
  }
  throw new Error("expected openSafetensors to fail");
}

function headerError(header: string, dataLength = 1024): CheckpointError {
  try {
    parseHeader(new TextEncoder().encode(header), "bad.safetensors", dataLength);
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message.startsWith("bad.safetensors: ")).toBe(true);
    return error as CheckpointError;
  }
  throw new Error("expected parseHeader to fail");
}

const entry = (dtype: string, shape: unknown, offsets: unknown): string =>
  JSON.stringify({ dtype, shape, data_offsets: offsets });

function rounded(dtype: FloatDtype, x: number): number {
  switch (dtype) {
    case "F64":
      return x;
    case "F32":
      return Math.fround(x);
    case "F16":
      return float16ToFloat64(float64ToFloat16Bits(x));
    case "BF16":
      return bfloat16ToFloat64(float64ToBfloat16Bits(x));
  }
}

describe("compatibility with the safetensors byte layout", () => {
  // {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} is 54 bytes, padded with 2 spaces to 56.
  const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  ';
  const handBuilt = concat(
    new Uint8Array([56, 0, 0, 0, 0, 0, 0, 0]),
    new TextEncoder().encode(header),
    new Uint8Array([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40]), // 1.0f, 2.0f little-endian
  );

  it("reads a hand-built file", async () => {
    const path = await writeBytes("known.safetensors", handBuilt);
    const file = await openSafetensors(path);
    try {
      expect(file.header.dataStart).toBe(64);
      expect(file.header.metadata).toEqual({});
      expect(file.header.tensors).toEqual([{ name: "a", dtype: "F32", shape: [2], size: 2, dataOffsets: [0, 8] }]);
      expect(file.has("a")).toBe(true);
      expect(file.has("b")).toBe(false);
      expect(Array.from(await file.readFloat64("a"))).toEqual([1, 2]);
    } finally {
      await file.close();
    }
  });

  it("encodes exactly the same bytes", () => {
    expect(encodeSafetensors([{ name: "a", dtype: "F32", shape: [2], data: [1, 2] }])).toEqual(handBuilt);
  });

  it("reads hand-built F64, F16 and BF16 data with metadata", async () => {
    const f64 = new Uint8Array(16);
    new DataView(f64.buffer).setFloat64(0, 0.1, true);
    new DataView(f64.buffer).setFloat64(8, -1e300, true);
    const f16 = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x80, 0x00, 0x7c]);
    const bf16 = new Uint8Array([0x80, 0x3f, 0x00, 0xc0, 0x49, 0x40]);
    const json =
      '{"__metadata__":{"format":"pt"},' +
      `"d":${entry("F64", [2], [0, 16])},"h":${entry("F16", [2, 3], [16, 28])},"b":${entry("BF16", [3], [28, 34])}}`;
    const path = await writeBytes("mixed.safetensors", concat(u64le(BigInt(json.length)), new TextEncoder().encode(json), f64, f16, bf16));
    const file = await openSafetensors(path);
    try {
      expect(file.header.metadata).toEqual({ format: "pt" });
      expect(file.header.tensors.map((t) => t.name)).toEqual(["d", "h", "b"]);
      expect(file.info("h")).toEqual({ name: "h", dtype: "F16", shape: [2, 3], size: 6, dataOffsets: [16, 28] });
      expect(Array.from(await file.readFloat64("d"))).toEqual([0.1, -1e300]);
      expect(Array.from(await file.readFloat64("h"))).toEqual([1, -2, 65504, 2 ** -24, -0, Infinity]);
      expect(Object.is((await file.readFloat64("h"))[4], -0)).toBe(true);
      expect(Array.from(await file.readFloat64("b"))).toEqual([1, -2, 3.140625]);
    } finally {
      await file.close();
    }
  });
});

describe("round trips", () => {
  const dtypes: FloatDtype[] = ["F64", "F32", "F16", "BF16"];
  const special = [0, -0, 1, -1, Infinity, -Infinity, NaN, 0.1, 1 / 3, 65504, 65519, 65520, 1e6, 3.4e38, 1e300, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -133, 2 ** -134, 5e-324, -1e-40];

  it.each(dtypes)("%s keeps special values as their dtype rounding", async (dtype) => {
    const path = join(await freshDir(), "special.safetensors");
    await writeSafetensors(path, [{ name: "x", dtype, shape: [special.length], data: special }]);
    const file = await openSafetensors(path);
    try {
      const back = Array.from(await file.readFloat64("x"));
      back.forEach((value, i) => expect(Object.is(value, rounded(dtype, special[i])), `${dtype} ${special[i]}`).toBe(true));
      if (dtype === "F64") expect(back.every((v, i) => Object.is(v, special[i]))).toBe(true);
    } finally {
      await file.close();
    }
  });

  it("spot-checks rounding results independently", async () => {
    const data = [65520, 2 ** -25, 3 * 2 ** -25, -(2 ** -26), 1 + 2 ** -11];
    const path = join(await freshDir(), "spot.safetensors");
    await writeSafetensors(path, [
      { name: "h", dtype: "F16", shape: [5], data },
      { name: "f", dtype: "F32", shape: [1], data: [0.1] },
    ]);
    const file = await openSafetensors(path);
    try {
      const h = Array.from(await file.readFloat64("h"));
      expect(h.slice(0, 3)).toEqual([Infinity, 0, 2 ** -23]);
      expect(Object.is(h[3], -0)).toBe(true);
      expect(h[4]).toBe(1); // tie rounds to the even neighbour 1, not 1 + 2^-10
      expect((await file.readFloat64("f"))[0]).toBe(0.10000000149011612);
    } finally {
      await file.close();
    }
  });

  it("property: every float dtype reads back as its rounding, with any shape and metadata", async () => {
    const tensorArb = fc
      .record({
        dtype: fc.constantFrom<FloatDtype>(...dtypes),
        shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
      })
      .chain(({ dtype, shape }) => {
        const size = shape.reduce((p, d) => p * d, 1);
        return fc
          .array(fc.oneof(fc.double(), fc.double({ min: -70000, max: 70000 }), fc.double({ min: -1e-5, max: 1e-5 })), {
            minLength: size,
            maxLength: size,
          })
          .map((data) => ({ dtype, shape, data }));
      });
    const fileArb = fc.record({
      tensors: fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), tensorArb), {
        maxLength: 5,
        selector: ([name]) => name,
      }),
      metadata: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 8 })), { nil: undefined }),
    });
    const base = await freshDir();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fileArb, async ({ tensors, metadata }) => {
        const toWrite: TensorToWrite[] = tensors
          .filter(([name]) => name !== "__metadata__")
          .map(([name, t]) => ({ name, ...t }));
        const path = join(base, `p${run++}.safetensors`);
        await writeSafetensors(path, toWrite, metadata);
        const file = await openSafetensors(path);
        try {
          expect(file.header.dataStart % 8).toBe(0);
          expect(file.header.tensors.map((t) => t.name)).toEqual(toWrite.map((t) => t.name));
          expect(file.header.metadata).toEqual(metadata ?? {});
          for (const t of toWrite) {
            expect(file.info(t.name).shape).toEqual(t.shape);
            const back = await file.readFloat64(t.name);
            expect(back.length).toBe(t.data.length);
            for (let i = 0; i < back.length; i++) expect(Object.is(back[i], rounded(t.dtype, t.data[i]))).toBe(true);
          }
        } finally {
          await file.close();
          await rm(path);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("keeps header order for integer-like and unusual names, and metadata with odd keys", async () => {
    const names = ["z", "10", "2", "__proto__", "naïve ✓", 'q"uote\n'];
    const metadata = JSON.parse('{"__proto__":"p","format":"pt","ü":"✓"}') as Record<string, string>;
    const path = join(await freshDir(), "order.safetensors");
    await writeSafetensors(
      path,
      names.map((name, i) => ({ name, dtype: "F32", shape: [1], data: [i] })),
      metadata,
    );
    const file = await openSafetensors(path);
    try {
      expect(file.header.tensors.map((t) => t.name)).toEqual(names);
      expect(Object.entries(file.header.metadata)).toEqual([
        ["__proto__", "p"],
        ["format", "pt"],
        ["ü", "✓"],
      ]);
      for (const [i, name] of names.entries()) expect(Array.from(await file.readFloat64(name))).toEqual([i]);
    } finally {
      await file.close();
    }
  });

  it("handles zero-size tensors and scalars", async () => {
    const path = join(await freshDir(), "empty.safetensors");
    await writeSafetensors(path, [
      { name: "e", dtype: "F32", shape: [0, 3], data: [] },
      { name: "s", dtype: "F64", shape: [], data: [42] },
      { name: "e2", dtype: "BF16", shape: [2, 0], data: [] },
    ]);
    const file = await openSafetensors(path);
    try {
      expect(file.info("e")).toMatchObject({ size: 0, dataOffsets: [0, 0] });
      expect(file.info("s")).toMatchObject({ size: 1, dataOffsets: [0, 8] });
      expect((await file.readFloat64("e")).length).toBe(0);
      expect(Array.from(await file.readFloat64("s"))).toEqual([42]);
    } finally {
      await file.close();
    }
  });

  it("an empty checkpoint is valid", async () => {
    const bytes = encodeSafetensors([]);
    expect(bytes.length).toBe(16);
    expect(parseHeader(bytes.subarray(8), "e", 0)).toEqual({ tensors: [], metadata: {}, dataStart: 16 });
  });
});

describe("malformed files", () => {
  it("file shorter than 8 bytes", async () => {
    expect((await openError(new Uint8Array(5))).message).toMatch(/file is 5 bytes, shorter than the 8-byte header length prefix/);
  });

  it("header length 0", async () => {
    expect((await openError(u64le(0n))).message).toMatch(/header length is 0/);
  });

  it("huge header length", async () => {
    const e = await openError(concat(u64le(9999999999n), new Uint8Array(16)));
    expect(e.message).toMatch(/: header length 9999999999 exceeds the 100000000-byte limit \(is this a safetensors file\?\)$/);
    const max = await openError(concat(u64le(2n ** 64n - 1n), new Uint8Array(16)));
    expect(max.message).toContain(`header length 18446744073709551615 exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  });

  it("truncated header", async () => {
    const e = await openError(concat(u64le(100n), new TextEncoder().encode('{"a":')));
    expect(e.message).toMatch(/header length 100 exceeds the 5 bytes after the length prefix \(truncated\?\)/);
  });

  it("truncated data", async () => {
    const e = await openError(rawFile(`{"weight":${entry("F32", [2], [0, 8])}}`, 4));
    expect(e.message).toContain('tensor "weight": data_offsets [0, 8] point past the end of the file (data section is 4 bytes; truncated?)');
  });

  it("invalid UTF-8", async () => {
    const e = await openError(concat(u64le(4n), new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])));
    expect(e.message).toContain("header (4 bytes) is not valid UTF-8");
  });

  it("non-JSON header, with JSON.parse's reason", async () => {
    const e = await openError(rawFile('{"a": nope}', 0));
    expect(e.message).toMatch(/header is not valid JSON \(.+\)/);
    expect(e.message).toMatch(/Unexpected token|not valid JSON|Unexpected/);
  });

  it.each([
    ["[1,2]", "array"],
    ['"x"', "string"],
    ["null", "null"],
    ["3", "number"],
  ])("header %s is not an object", async (header, kind) => {
    const e = await openError(rawFile(header, 0));
    expect(e.message).toContain(`header must be a JSON object mapping tensor names to entries, got ${kind}`);
  });

  it("wrong byte size (the exact message)", () => {
    expect(headerError(`{"W2":${entry("F32", [5, 4], [0, 96])}}`, 96).message).toBe(
      'bad.safetensors: tensor "W2": data_offsets [0, 96] cover 96 bytes but F32 [5,4] needs 80',
    );
    expect(headerError(`{"b":${entry("BF16", [3], [0, 3])}}`).message).toContain('tensor "b": data_offsets [0, 3] cover 3 bytes but BF16 [3] needs 6');
  });

  it("overlapping tensors name both", async () => {
    const e = await openError(rawFile(`{"first":${entry("F32", [2], [0, 8])},"second":${entry("F32", [2], [4, 12])}}`, 12));
    expect(e.message).toContain('tensors "first" [0, 8] and "second" [4, 12] have overlapping data_offsets');
    // A range nested inside an earlier, longer one is caught too.
    const nested = headerError(`{"big":${entry("U8", [16], [0, 16])},"a":${entry("U8", [2], [2, 4])},"b":${entry("U8", [2], [8, 10])}}`);
    expect(nested.message).toMatch(/"big".*"a"/);
    // Touching ranges and empty ranges are fine.
    expect(() => parseHeader(new TextEncoder().encode(`{"a":${entry("U8", [4], [0, 4])},"z":${entry("F32", [0], [2, 2])},"b":${entry("U8", [4], [4, 8])}}`), "ok", 8)).not.toThrow();
  });

  it.each([
    [[8, 0], "[8,0]"],
    [[-4, 4], "[-4,4]"],
    [[0, 4.5], "[0,4.5]"],
    [[0, 4, 8], "[0,4,8]"],
    [[0], "[0]"],
    ["0-4", '"0-4"'],
    [[0, "4"], '[0,"4"]'],
    [[0, 2 ** 60], `[0,${2 ** 60}]`],
  ])("bad data_offsets %j", (offsets, shown) => {
    const e = headerError(`{"t":${entry("U8", [4], offsets)}}`);
    expect(e.message).toContain(`tensor "t": data_offsets must be [begin, end] with non-negative integers begin <= end, got ${shown}`);
  });

  it.each([
    [[2, -1], "shape[1] is -1"],
    [[2.5], "shape[0] is 2.5"],
    [["2"], 'shape[0] is "2"'],
    [[null], "shape[0] is null"],
    [[2 ** 60], `shape[0] is ${2 ** 60}`],
  ])("bad shape %j", (shape, expected) => {
    const e = headerError(`{"t":${entry("U8", shape, [0, 4])}}`);
    expect(e.message).toContain(`tensor "t": ${expected}, expected a non-negative integer`);
  });

  it("shape that is not an array, and a byte count past 2^53", () => {
    expect(headerError(`{"t":${entry("U8", 4, [0, 4])}}`).message).toContain('tensor "t": shape must be an array of non-negative integers, got number 4');
    expect(headerError(`{"t":${entry("F64", [2 ** 26, 2 ** 26, 2 ** 2], [0, 8])}}`).message).toContain('tensor "t": shape [67108864,67108864,4] is too large');
  });

  it("unknown or non-string dtype", () => {
    expect(headerError(`{"t":${entry("F128", [1], [0, 16])}}`).message).toContain('tensor "t": unknown dtype "F128" (expected one of F64, F32');
    expect(headerError(`{"t":${entry("toString", [1], [0, 16])}}`).message).toContain('unknown dtype "toString"');
    expect(headerError('{"t":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}').message).toContain('tensor "t": dtype must be a string, got number 4');
  });

  it("duplicate tensor names, even when spelled with escapes", async () => {
    const one = entry("F32", [1], [0, 4]);
    const e = await openError(rawFile(`{"w":${one}, "w" :${entry("F32", [1], [4, 8])}}`, 8));
    expect(e.message).toContain('duplicate tensor name "w" in header');
    expect(headerError(`{"ab":${one},"x":[{"ab":1}],"a\\u0062":${one}}`).message).toContain('duplicate tensor name "ab"');
  });

  it("duplicate keys inside an entry or in __metadata__", () => {
    expect(headerError('{"t":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,8]}}').message).toContain('tensor "t": duplicate key "dtype"');
    expect(headerError('{"__metadata__":{"k":"1","k":"2"}}').message).toContain('__metadata__: duplicate key "k"');
    // Same key in different entries or nested deeper is not a duplicate.
    expect(() => parseHeader(new TextEncoder().encode(`{"a":${entry("U8", [1], [0, 1])},"b":${entry("U8", [1], [1, 2])}}`), "ok", 2)).not.toThrow();
  });

  it("non-string metadata values, and metadata that is not an object", async () => {
    const e = await openError(rawFile('{"__metadata__":{"epoch":3}}', 0));
    expect(e.message).toContain('__metadata__: key "epoch" must have a string value, got number 3');
    expect(headerError('{"__metadata__":["a"]}').message).toContain("__metadata__ must be an object of string values, got array");
  });

  it("unknown extra keys, missing keys, non-object entries and empty names", () => {
    expect(headerError('{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"offset":0}}').message).toContain(
      'tensor "t": unknown key "offset" (expected only dtype, shape, data_offsets)',
    );
    expect(headerError('{"t":{"dtype":"U8","shape":[1]}}').message).toContain('tensor "t": missing "data_offsets"');
    expect(headerError('{"t":[1,2]}').message).toContain('tensor "t": entry must be an object with dtype, shape and data_offsets, got array');
    expect(headerError(`{"":${entry("U8", [1], [0, 1])}}`).message).toContain("tensor name must be non-empty");
  });

  it("names with newlines stay on one line in messages", () => {
    const e = headerError(`{"a\\nb":${entry("U8", [1], [0, 2])}}`);
    expect(e.message).not.toContain("\n");
    expect(e.message).toContain('tensor "a\\nb"');
  });

  it("a missing file is a CheckpointError naming the path", async () => {
    const path = join(await freshDir(), "missing.safetensors");
    await expect(openSafetensors(path)).rejects.toThrow(CheckpointError);
    await expect(openSafetensors(path)).rejects.toThrow(`${path}: cannot open file`);
  });
});

describe("SafetensorsFile", () => {
  it("info and readFloat64 name the missing tensor; unsupported dtypes are refused by name", async () => {
    const json = `{"ids":${entry("I32", [2], [0, 8])},"w":${entry("F32", [1], [8, 12])}}`;
    const path = await writeBytes("ints.safetensors", rawFile(json, 12));
    const file = await openSafetensors(path);
    try {
      expect(() => file.info("nope")).toThrow(CheckpointError);
      expect(() => file.info("nope")).toThrow(`${path}: tensor "nope" not found (file has 2 tensors: "ids", "w")`);
      await expect(file.readFloat64("nope")).rejects.toThrow('tensor "nope" not found');
      await expect(file.readFloat64("ids")).rejects.toThrow(
        `${path}: tensor "ids" has dtype I32; readFloat64 supports F64, F32, F16, BF16`,
      );
      expect(Array.from(await file.readFloat64("w"))).toEqual([0]);
    } finally {
      await file.close();
    }
    await expect(file.readFloat64("w")).rejects.toThrow(`${path}: tensor "w": file is closed`);
    await file.close(); // closing twice is harmless
  });

  it("reads a small tensor from a 50 MB file with positioned reads", async () => {
    const big = 50_000_000;
    const json = `{"big":${entry("U8", [big], [0, big])},"tail":${entry("F32", [2], [big, big + 8])}}`;
    const prefix = concat(u64le(BigInt(json.length)), new TextEncoder().encode(json));
    const path = join(await freshDir(), "big.safetensors");
    const handle = await open(path, "w");
    try {
      await handle.write(prefix, 0, prefix.length, 0);
      const tail = new Uint8Array(8);
      new DataView(tail.buffer).setFloat32(0, 1.5, true);
      new DataView(tail.buffer).setFloat32(4, -2.25, true);
      await handle.write(tail, 0, 8, prefix.length + big); // leaves a sparse hole for "big"
    } finally {
      await handle.close();
    }
    const file = await openSafetensors(path);
    try {
      expect(file.header.tensors.map((t) => t.size)).toEqual([big, 2]);
      expect(Array.from(await file.readFloat64("tail"))).toEqual([1.5, -2.25]);
    } finally {
      await file.close();
    }
  });

  it("concurrent reads of different tensors do not interfere", async () => {
    const path = join(await freshDir(), "many.safetensors");
    const tensors: TensorToWrite[] = Array.from({ length: 20 }, (_, i) => ({
      name: `t${i}`,
      dtype: (["F64", "F32", "F16", "BF16"] as const)[i % 4],
      shape: [3, 5],
      data: Array.from({ length: 15 }, (_, j) => i * 100 + j),
    }));
    await writeSafetensors(path, tensors);
    const file = await openSafetensors(path);
    try {
      const all = await Promise.all(tensors.map((t) => file.readFloat64(t.name)));
      all.forEach((values, i) => expect(Array.from(values)).toEqual(Array.from(tensors[i].data, (x) => rounded(tensors[i].dtype, x))));
    } finally {
      await file.close();
    }
  });
});

describe("SafetensorsFile.readIntegers", () => {
  it("reads token and class ids of every integer width exactly, and refuses floats and ids beyond 2^53", async () => {
    const data = new Uint8Array(8 * 3 + 4 * 2 + 8);
    const view = new DataView(data.buffer);
    view.setBigInt64(0, 7n, true);
    view.setBigInt64(8, -1n, true);
    view.setBigInt64(16, 2n ** 60n, true);
    view.setInt32(24, 2 ** 31 - 1, true);
    view.setInt32(28, 3, true);
    view.setFloat64(32, 1.5, true);
    const header = JSON.stringify({
      Y: { dtype: "I64", shape: [2], data_offsets: [0, 16] },
      big: { dtype: "I64", shape: [1, 1], data_offsets: [16, 24] },
      X: { dtype: "I32", shape: [2], data_offsets: [24, 32] },
      f: { dtype: "F64", shape: [1], data_offsets: [32, 40] },
    });
    const json = new TextEncoder().encode(header);
    const file = await openSafetensors(await writeBytes("ids.safetensors", concat(u64le(BigInt(json.length)), json, data)));
    try {
      expect([...(await file.readIntegers("Y"))]).toEqual([7, -1]);
      expect([...(await file.readIntegers("X"))]).toEqual([2 ** 31 - 1, 3]);
      await expect(file.readIntegers("big")).rejects.toThrow(`tensor "big"[0,0] = ${2n ** 60n} is too large to be an id`);
      await expect(file.readIntegers("f")).rejects.toThrow('tensor "f" has dtype F64; readIntegers supports I64, I32, I16, I8, U8');
    } finally {
      await file.close();
    }
  });
});

describe("writeSafetensors", () => {
  const invalid: [string, TensorToWrite[], RegExp][] = [
    ["data shorter than the shape", [{ name: "W", dtype: "F32", shape: [5, 4], data: new Float64Array(19) }], /tensor "W": data has 19 values but shape \[5,4\] needs 20/],
    ["data longer than the shape", [{ name: "W", dtype: "BF16", shape: [5, 4], data: new Array<number>(21).fill(0) }], /tensor "W": data has 21 values but shape \[5,4\] needs 20/],
    ["duplicate names", [{ name: "a", dtype: "F32", shape: [], data: [1] }, { name: "a", dtype: "F32", shape: [], data: [2] }], /tensor "a": duplicate tensor name/],
    ["non-float dtype", [{ name: "i", dtype: "I32" as FloatDtype, shape: [1], data: [1] }], /tensor "i": cannot write dtype "I32"/],
    ["negative shape", [{ name: "n", dtype: "F64", shape: [-1], data: [] }], /tensor "n": shape\[0\] is -1/],
    ["reserved name", [{ name: "__metadata__", dtype: "F64", shape: [], data: [1] }], /tensor "__metadata__": name is reserved/],
    ["non-number value", [{ name: "v", dtype: "F64", shape: [2], data: [1, "2" as unknown as number] }], /tensor "v": data\[1\] is string, expected a number/],
  ];

  it.each(invalid)("%s: throws CheckpointError and leaves no file or temp file", async (_label, tensors, pattern) => {
    const target = await freshDir();
    const path = join(target, "out.safetensors");
    const attempt = writeSafetensors(path, tensors);
    await expect(attempt).rejects.toThrow(CheckpointError);
    await expect(attempt).rejects.toThrow(pattern);
    await expect(attempt).rejects.toThrow(`${path}: `);
    expect(await readdir(target)).toEqual([]);
    expect(() => encodeSafetensors(tensors)).toThrow(pattern);
  });

  it("rejects non-string metadata before writing", async () => {
    const target = await freshDir();
    const path = join(target, "out.safetensors");
    await expect(writeSafetensors(path, [], { epoch: 3 as unknown as string })).rejects.toThrow('__metadata__: key "epoch" must have a string value');
    expect(await readdir(target)).toEqual([]);
  });

  it("removes its temp file when the final rename fails", async () => {
    const target = await freshDir();
    const path = join(target, "taken");
    await mkdir(path); // renaming a file over a directory fails
    await expect(writeSafetensors(path, [{ name: "x", dtype: "F32", shape: [1], data: [1] }])).rejects.toThrow(
      new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: write failed`),
    );
    expect(await readdir(target)).toEqual(["taken"]);
  });

  it("fails cleanly when the directory does not exist", async () => {
    const path = join(await freshDir(), "no", "such", "dir.safetensors");
    await expect(writeSafetensors(path, [])).rejects.toThrow(CheckpointError);
  });

  it("replaces an existing file with the new contents", async () => {
    const target = await freshDir();
    const path = join(target, "ckpt.safetensors");
    await writeSafetensors(path, [{ name: "a", dtype: "F64", shape: [1], data: [1] }]);
    await writeSafetensors(path, [{ name: "b", dtype: "F64", shape: [2], data: [2, 3] }], { step: "2" });
    expect(await readdir(target)).toEqual(["ckpt.safetensors"]);
    const file = await openSafetensors(path);
    try {
      expect(file.header.tensors.map((t) => t.name)).toEqual(["b"]);
      expect(file.header.metadata).toEqual({ step: "2" });
      expect(Array.from(await file.readFloat64("b"))).toEqual([2, 3]);
    } finally {
      await file.close();
    }
    expect(await readFile(path)).toEqual(Buffer.from(encodeSafetensors([{ name: "b", dtype: "F64", shape: [2], data: [2, 3] }], { step: "2" })));
  });

  it("pads the header with spaces to a multiple of 8 and packs data in order", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 6 }), fc.string({ maxLength: 12 }), (sizes, note) => {
        const tensors: TensorToWrite[] = sizes.map((n, i) => ({ name: `t${i}`, dtype: "F16", shape: [n], data: new Array<number>(n).fill(1) }));
        const bytes = encodeSafetensors(tensors, { note });
        const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
        expect(headerLength % 8).toBe(0);
        const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
        expect(header.trimEnd().endsWith("}")).toBe(true);
        expect(/^ *$/.test(header.slice(header.trimEnd().length))).toBe(true);
        const parsed = parseHeader(bytes.subarray(8, 8 + headerLength), "enc", bytes.length - 8 - headerLength);
        let offset = 0;
        parsed.tensors.forEach((t, i) => {
          expect(t.dataOffsets).toEqual([offset, offset + 2 * sizes[i]]);
          offset += 2 * sizes[i];
        });
        expect(bytes.length).toBe(8 + headerLength + offset);
      }),
    );
  });
});

describe("firstNonFinite and formatIndex", () => {
  it("finds the first NaN or infinity", () => {
    expect(firstNonFinite([])).toBe(-1);
    expect(firstNonFinite([1, 2, -0, 1e308])).toBe(-1);
    expect(firstNonFinite([1, Infinity, NaN])).toBe(1);
    expect(firstNonFinite(new Float32Array([0, 0, NaN]))).toBe(2);
    expect(firstNonFinite([-Infinity])).toBe(0);
  });

  it("formats row-major multi-indices", () => {
    expect(formatIndex([5, 4], 9)).toBe("[2,1]");
    expect(formatIndex([5, 4], 0)).toBe("[0,0]");
    expect(formatIndex([5, 4], 19)).toBe("[4,3]");
    expect(formatIndex([2, 3, 4], 23)).toBe("[1,2,3]");
    expect(formatIndex([7], 6)).toBe("[6]");
    expect(formatIndex([], 0)).toBe("[]");
    expect(() => formatIndex([5, 4], 20)).toThrow(RangeError);
    expect(() => formatIndex([5, 4], -1)).toThrow(RangeError);
    expect(() => formatIndex([0, 4], 0)).toThrow(RangeError);
  });

  it("property: the multi-index maps back to the flat index", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
          fc.tuple(fc.constant(shape), fc.integer({ min: 0, max: shape.reduce((p, d) => p * d, 1) - 1 })),
        ),
        ([shape, flat]) => {
          const parts = JSON.parse(formatIndex(shape, flat)) as number[];
          expect(parts.length).toBe(shape.length);
          parts.forEach((p, axis) => expect(p).toBeLessThan(shape[axis]));
          expect(parts.reduce((acc, p, axis) => acc * shape[axis] + p, 0)).toBe(flat);
        },
      ),
    );
  });
});
