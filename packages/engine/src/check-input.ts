import type { Precision } from "@gradcheck/core";
import type { Warning } from "@gradcheck/contracts";
import type { Batch, ModelSpec } from "@gradcheck/models";

/** Everything a check needs, already validated: the same for the CLI and the cluster. */
export interface CheckInput {
  readonly spec: ModelSpec;
  /** θ, flattened in the model's parameter layout */
  readonly theta: Float64Array;
  /** the user's dθ, same layout */
  readonly analytic: Float64Array;
  readonly batch: Batch;
  /** the least precise dtype among θ and dθ in the checkpoint */
  readonly precision: Precision;
  /** training step from the checkpoint's metadata */
  readonly step: number | null;
  /** warnings found while loading (unused tensors, ...) */
  readonly loadWarnings?: readonly Warning[];
}

export interface CheckOptions {
  /** nominal finite-difference step h */
  readonly eps: number;
  /** worst coordinates kept per tensor */
  readonly top: number;
}

export const DEFAULT_EPS = 1e-6;
export const DEFAULT_TOP = 5;
