/** Floating-point formats a checkpoint may store θ and dθ in. */
export type Precision = "F64" | "F32" | "F16" | "BF16";

/** Unit roundoff u of each format (half the machine epsilon). */
export const UNIT_ROUNDOFF: Readonly<Record<Precision, number>> = {
  F64: 2 ** -53,
  F32: 2 ** -24,
  F16: 2 ** -11,
  BF16: 2 ** -8,
};

/** The least precise of several formats: the one that limits what a check can resolve. */
export function lowestPrecision(precisions: Iterable<Precision>): Precision {
  let lowest: Precision = "F64";
  for (const precision of precisions) {
    if (UNIT_ROUNDOFF[precision] > UNIT_ROUNDOFF[lowest]) lowest = precision;
  }
  return lowest;
}

/** Significand bits (with the implicit one) and the least normal exponent of the formats narrower than F64. */
const FORMAT_BITS: Readonly<Record<Exclude<Precision, "F64" | "F32">, { readonly significand: number; readonly minExponent: number; readonly max: number }>> = {
  F16: { significand: 11, minExponent: -14, max: 65504 },
  BF16: { significand: 8, minExponent: -126, max: 3.3895313892515355e38 },
};

/** The rounding of float64 arithmetic into itself: one function, so callers can recognise it and skip the call. */
const keepFloat64 = (value: number): number => value;

/**
 * Round to nearest (ties to even) into a format, kept as a float64: arithmetic in that format
 * is emulated by rounding after every operation. Overflow gives ±Infinity, as the format does.
 */
export function roundingTo(precision: Precision): (value: number) => number {
  if (precision === "F64") return keepFloat64;
  if (precision === "F32") return Math.fround;
  const { significand, minExponent, max } = FORMAT_BITS[precision];
  const subnormalQuantum = 2 ** (minExponent - significand + 1);
  const overflow = max + 2 ** (Math.floor(Math.log2(max)) - significand);
  return (value) => {
    const magnitude = Math.abs(value);
    if (!Number.isFinite(magnitude) || magnitude === 0) return value;
    if (magnitude >= overflow) return Math.sign(value) * Infinity;
    let exponent = Math.floor(Math.log2(magnitude));
    if (2 ** exponent > magnitude) exponent--;
    else if (2 ** (exponent + 1) <= magnitude) exponent++;
    const quantum = exponent < minExponent ? subnormalQuantum : 2 ** (exponent - significand + 1);
    const scaled = magnitude / quantum;
    let rounded = Math.round(scaled);
    if (rounded - scaled === 0.5 && rounded % 2 === 1) rounded--;
    return Math.sign(value) * rounded * quantum;
  };
}

/**
 * The arithmetic dθ was most likely computed in: its storage dtype, except that an F64 dθ
 * whose every value is a float32 number was computed (or rounded) in float32.
 */
export function gradientArithmetic(precision: Precision, analytic: ArrayLike<number>): Precision {
  if (precision !== "F64" || analytic.length === 0) return precision;
  for (let i = 0; i < analytic.length; i++) if (Math.fround(analytic[i]) !== analytic[i]) return "F64";
  return "F32";
}
