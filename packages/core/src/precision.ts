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
