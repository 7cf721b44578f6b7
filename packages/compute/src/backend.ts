/** Numerical derivatives of θ[start..end) and each coordinate's status (checked or kink). */
export interface CentralDifferences {
  readonly numeric: Float64Array;
  readonly status: Uint8Array;
}

/** Something that evaluates perturbed costs: the float64 CPU today, gpu.js next. */
export interface PerturbedCostBackend {
  readonly name: string;
  readonly precision: "float64" | "float32";
  /** J(θ) */
  readonly cost: number;
  centralDifferences(start: number, end: number, eps: number, onProgress?: (done: number) => void): CentralDifferences;
}
