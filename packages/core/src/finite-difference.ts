/**
 * Central differences with the step actually realised in floating point:
 * x + h is rounded, so the distance moved is (x + h) − x, not h.
 */
export interface RealizedSteps {
  /** (x + h) − x */
  readonly plus: number;
  /** x − (x − h) */
  readonly minus: number;
}

export function realizedSteps(x: number, h: number): RealizedSteps {
  return { plus: x + h - x, minus: x - (x - h) };
}

/** (J(x + plus) − J(x − minus)) / (plus + minus), from the two cost changes or the two costs. */
export function centralDifference(costPlus: number, costMinus: number, steps: RealizedSteps): number {
  return (costPlus - costMinus) / (steps.plus + steps.minus);
}

/** Reference numerical gradient of f at x: two full evaluations per coordinate. */
export function numericalGradient(f: (x: Float64Array) => number, x: Float64Array, h: number): Float64Array {
  const gradient = new Float64Array(x.length);
  const probe = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    const steps = realizedSteps(x[i], h);
    probe[i] = x[i] + steps.plus;
    const costPlus = f(probe);
    probe[i] = x[i] - steps.minus;
    const costMinus = f(probe);
    probe[i] = x[i];
    gradient[i] = centralDifference(costPlus, costMinus, steps);
  }
  return gradient;
}

/** How the step h is chosen for each coordinate. */
export type StepRule =
  | { readonly kind: "fixed"; readonly eps: number }
  /** h_i = base·max(1, |θ_i|) */
  | { readonly kind: "auto"; readonly base: number };

/**
 * ∛ε of the arithmetic that evaluates the cost: for central differences it balances the
 * truncation error (∝ h²) against rounding (∝ ε/h).
 */
export const AUTO_STEP_BASE = { float64: Math.cbrt(2 ** -52), float32: Math.cbrt(2 ** -23) } as const;

export function stepSize(rule: StepRule, x: number): number {
  return rule.kind === "fixed" ? rule.eps : rule.base * Math.max(1, Math.abs(x));
}

/** Richardson extrapolation of central differences at h and h/2: error O(h⁴) instead of O(h²). */
export function richardson(full: number, half: number): number {
  return (4 * half - full) / 3;
}
