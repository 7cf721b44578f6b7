import type { StepRule } from "@gradcheck/core";
import type { SparseDirection } from "@gradcheck/models/evaluator";

/** Numerical derivatives, one per requested coordinate or direction, and each one's status. */
export interface Derivatives {
  readonly numeric: Float64Array;
  /** CoordinateStatus: checked, or kink when a ReLU kink was crossed */
  readonly status: Uint8Array;
}

export interface DifferenceOptions {
  readonly step: StepRule;
  /** combine h and h/2 by Richardson extrapolation (twice the cost evaluations) */
  readonly richardson?: boolean;
}

/** Something that evaluates perturbed costs: the float64 CPU today, gpu.js next. */
export interface PerturbedCostBackend {
  readonly name: string;
  readonly precision: "float64" | "float32";
  /** J(θ) */
  readonly cost: number;
  /** ∂J/∂θ_i by central differences for each index. */
  centralDifferences(indices: Int32Array, options: DifferenceOptions, onProgress?: (done: number) => void): Derivatives;
  /** (J(θ + h·v) − J(θ − h·v)) / 2h for each direction v, with h = step. */
  directionalDerivatives(directions: readonly SparseDirection[], step: number, richardson?: boolean): Derivatives;
}

/** Cost evaluations one derivative takes. */
export const evaluationsPerDerivative = (richardson = false): number => (richardson ? 4 : 2);
