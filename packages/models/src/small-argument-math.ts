/**
 * expm1 and log1p for the tiny arguments that finite-difference steps produce. Below
 * SMALL_ARGUMENT the truncated Taylor series is exact to double rounding (the first omitted
 * term is below 1e-20 relative), and it is several times cheaper than the library calls.
 */
const SMALL_ARGUMENT = 1e-5;

export function expm1Small(x: number): number {
  if (x > SMALL_ARGUMENT || x < -SMALL_ARGUMENT) return Math.expm1(x);
  return x * (1 + x * (0.5 + x * (1 / 6 + x * (1 / 24))));
}

export function log1pSmall(x: number): number {
  if (x > SMALL_ARGUMENT || x < -SMALL_ARGUMENT) return Math.log1p(x);
  return x * (1 - x * (0.5 - x * (1 / 3 - x * (0.25 - x * 0.2))));
}

export function tanhSmall(x: number): number {
  if (x > SMALL_ARGUMENT || x < -SMALL_ARGUMENT) return Math.tanh(x);
  const x2 = x * x;
  return x * (1 - x2 * (1 / 3 - x2 * (2 / 15)));
}
