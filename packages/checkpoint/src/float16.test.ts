import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { bfloat16ToFloat64, float16ToFloat64, float64ToBfloat16Bits, float64ToFloat16Bits } from "./float16.js";

interface Codec {
  name: string;
  decode: (bits: number) => number;
  encode: (x: number) => number;
  maxFiniteBits: number; // largest finite positive pattern
  infBits: number;
  mantBits: number;
}

const codecs: Codec[] = [
  { name: "F16", decode: float16ToFloat64, encode: float64ToFloat16Bits, maxFiniteBits: 0x7bff, infBits: 0x7c00, mantBits: 10 },
  { name: "BF16", decode: bfloat16ToFloat64, encode: float64ToBfloat16Bits, maxFiniteBits: 0x7f7f, infBits: 0x7f80, mantBits: 7 },
];

/** Reference BF16 decode: the pattern is the top half of a float32. */
function bf16ViaFloat32(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}

/** Reference BF16 rounding for float32 inputs: the well-known add-0x7fff-plus-lsb trick. */
function bf16FromFloat32Trick(x: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x);
  const bits = view.getUint32(0);
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

function nextUp(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + 1n);
  return view.getFloat64(0);
}

function nextDown(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) - 1n);
  return view.getFloat64(0);
}

describe("F16 decoding", () => {
  it.each([
    [0x0000, 0],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504],
    [0x0400, 2 ** -14],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ])("0x%s decodes exactly", (bits, value) => {
    expect(float16ToFloat64(bits)).toBe(value);
  });

  it("keeps the sign of zero and decodes NaN patterns to NaN", () => {
    expect(Object.is(float16ToFloat64(0x8000), -0)).toBe(true);
    expect(float16ToFloat64(0x7e00)).toBeNaN();
    expect(float16ToFloat64(0x7c01)).toBeNaN();
    expect(float16ToFloat64(0xfe00)).toBeNaN();
  });
});

describe("BF16 decoding", () => {
  it("matches the float32 it is the top half of, for all 65536 patterns", () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      if (!Object.is(bfloat16ToFloat64(bits), bf16ViaFloat32(bits))) mismatches.push(bits); // Object.is(NaN, NaN) holds
    }
    expect(mismatches).toEqual([]);
  });

  it("decodes known constants", () => {
    expect(bfloat16ToFloat64(0x3f80)).toBe(1);
    expect(bfloat16ToFloat64(0x7f7f)).toBe((2 - 2 ** -7) * 2 ** 127);
    expect(bfloat16ToFloat64(0x0001)).toBe(2 ** -133);
    expect(bfloat16ToFloat64(0x0080)).toBe(2 ** -126);
  });
});

describe.each(codecs)("$name encoding", (codec) => {
  const mantMask = (1 << codec.mantBits) - 1;

  it("round-trips every non-NaN pattern exactly (including subnormals, ±0, ±Inf)", () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      const value = codec.decode(bits);
      const ok = Number.isNaN(value) ? Number.isNaN(codec.decode(codec.encode(value))) : codec.encode(value) === bits;
      if (!ok) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it("decodes finite positive patterns to strictly increasing float32-exact values", () => {
    const bad: number[] = [];
    let previous = -Infinity;
    for (let bits = 0; bits <= codec.maxFiniteBits; bits++) {
      const value = codec.decode(bits);
      if (!(value > previous) || Math.fround(value) !== value) bad.push(bits);
      previous = value;
    }
    expect(bad).toEqual([]);
  });

  it("rounds every exact midpoint to the neighbour with an even mantissa", () => {
    const bad: number[] = [];
    for (let bits = 0; bits < codec.maxFiniteBits; bits++) {
      const mid = (codec.decode(bits) + codec.decode(bits + 1)) / 2; // exact in float64
      const even = bits % 2 === 0 ? bits : bits + 1;
      const ok =
        codec.encode(mid) === even &&
        codec.encode(-mid) === (even | 0x8000) &&
        // Just off the midpoint, the nearer neighbour wins.
        codec.encode(nextDown(mid)) === bits &&
        codec.encode(nextUp(mid)) === bits + 1;
      if (!ok) bad.push(bits);
    }
    expect(bad).toEqual([]);
  });

  it("overflows to infinity exactly at the midpoint above the largest finite value", () => {
    const max = codec.decode(codec.maxFiniteBits);
    const overflowMid = (max + 2 * codec.decode(codec.maxFiniteBits & ~mantMask)) / 2; // halfway to the next binade
    expect(codec.encode(nextDown(overflowMid))).toBe(codec.maxFiniteBits);
    expect(codec.encode(overflowMid)).toBe(codec.infBits); // tie: max has an odd mantissa
    expect(codec.encode(1e300)).toBe(codec.infBits);
    expect(codec.encode(-1e300)).toBe(codec.infBits | 0x8000);
    expect(codec.encode(Infinity)).toBe(codec.infBits);
    expect(codec.encode(-Infinity)).toBe(codec.infBits | 0x8000);
  });

  it("underflows to signed zero below half the smallest subnormal", () => {
    const tiny = codec.decode(1);
    expect(codec.encode(tiny / 2)).toBe(0); // tie between 0 and the odd smallest subnormal
    expect(codec.encode(nextUp(tiny / 2))).toBe(1);
    expect(codec.encode((3 * tiny) / 2)).toBe(2); // tie between 1 and 2
    expect(codec.encode(-tiny / 4)).toBe(0x8000);
    expect(codec.encode(-0)).toBe(0x8000);
    expect(codec.encode(Number.MIN_VALUE)).toBe(0);
  });

  it("encodes NaN as a NaN pattern", () => {
    expect(codec.decode(codec.encode(NaN))).toBeNaN();
  });

  it("property: the result is the nearest representable value, ties to even", () => {
    const max = codec.decode(codec.maxFiniteBits);
    const values = fc.oneof(
      fc.double({ noNaN: true }),
      fc.double({ min: -2 * max, max: 2 * max, noNaN: true }),
      fc.double({ min: -16 * codec.decode(1 << codec.mantBits), max: 16 * codec.decode(1 << codec.mantBits), noNaN: true }),
    );
    fc.assert(
      fc.property(values, (x) => {
        const bits = codec.encode(x);
        const negative = x < 0 || Object.is(x, -0);
        expect(bits & 0x8000).toBe(negative ? 0x8000 : 0);
        const magnitudeBits = bits & 0x7fff;
        const a = Math.abs(x);
        const v = codec.decode(magnitudeBits);
        if (magnitudeBits === codec.infBits) {
          // Only values at or beyond the overflow midpoint may become infinite.
          const overflowMid = (max + 2 * codec.decode(codec.maxFiniteBits & ~mantMask)) / 2;
          expect(a).toBeGreaterThanOrEqual(overflowMid);
          return;
        }
        const below = magnitudeBits > 0 ? (codec.decode(magnitudeBits - 1) + v) / 2 : 0;
        const aboveNeighbour =
          magnitudeBits === codec.maxFiniteBits ? 2 * codec.decode(codec.maxFiniteBits & ~mantMask) : codec.decode(magnitudeBits + 1);
        const above = (v + aboveNeighbour) / 2;
        expect(a).toBeGreaterThanOrEqual(below);
        expect(a).toBeLessThanOrEqual(above);
        if ((a === below && magnitudeBits > 0) || a === above) expect(magnitudeBits % 2).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("BF16 encoding against the float32 bit trick", () => {
  it("property: agrees for every float32 input", () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        expect(float64ToBfloat16Bits(x)).toBe(bf16FromFloat32Trick(x));
      }),
      { numRuns: 5000 },
    );
  });

  it("rounds from float64 directly, avoiding float32 double rounding", () => {
    // 1 + 2^-8 + 2^-30 rounds up to 1 + 2^-7 in BF16, but via float32 it would become the tie 1 + 2^-8 and round to 1.
    const x = 1 + 2 ** -8 + 2 ** -30;
    expect(bf16FromFloat32Trick(Math.fround(x))).toBe(0x3f80);
    expect(float64ToBfloat16Bits(x)).toBe(0x3f81);
  });
});
