import type { StepRule } from "@gradcheck/core";
import type { SparseDirection } from "@gradcheck/models/evaluator";
import type { GpuJsMode } from "./gpujs-mode.js";

/** Numerical derivatives, one per requested coordinate or direction, and each one's status. */
export interface Derivatives {
  readonly numeric: Float64Array;
  /** CoordinateStatus: checked, or kink when a ReLU kink was crossed */
  readonly status: Uint8Array;
  /** ScreenOutcome per item, when a float32 screen ran before float64 confirmation */
  readonly screen?: Uint8Array;
  /**
   * per item, a bound on its own float64 rounding where that is set by the costs' size rather
   * than by h (a backend that differences whole costs): what comparing h with h/2 may miss
   */
  readonly rounding?: Float64Array;
}

export interface DifferenceOptions {
  readonly step: StepRule;
  /** combine h and h/2 by Richardson extrapolation (twice the cost evaluations) */
  readonly richardson?: boolean;
}

/** Which backend computed something, as reports record it. */
export interface BackendIdentity {
  readonly name: "cpu" | "gpujs";
  /** the gpu.js mode; null on the cpu backend */
  readonly mode: GpuJsMode | null;
  /** the arithmetic of the perturbed costs */
  readonly precision: "float64" | "float32";
}

/** Something that evaluates perturbed costs: the float64 CPU, or gpu.js in float32. */
export interface PerturbedCostBackend extends BackendIdentity {
  /** J(θ) */
  readonly cost: number;
  /** ∂J/∂θ_i by central differences for each index. */
  centralDifferences(indices: Int32Array, options: DifferenceOptions, onProgress?: (done: number) => void): Derivatives;
  /**
   * (J(θ + h·v) − J(θ − h·v)) / 2h for each direction v, with h = step. Directions may come
   * from a generator, each made as it is needed: a whole-tensor direction is θ-sized.
   */
  directionalDerivatives(directions: Iterable<SparseDirection>, step: number, richardson?: boolean): Derivatives;
}

/** Cost evaluations one derivative takes. */
export const evaluationsPerDerivative = (richardson = false): number => (richardson ? 4 : 2);
