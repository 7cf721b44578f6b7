import { AUTO_STEP_BASE, type Precision, type StepRule } from "@gradcheck/core";
import type { Warning } from "@gradcheck/contracts";
import type { Batch, CompiledGraph, GraphBatch, ModelSpec } from "@gradcheck/models";

interface CheckInputBase {
  /** θ, flattened in the model's parameter layout */
  readonly theta: Float64Array;
  /** the user's dθ, same layout */
  readonly analytic: Float64Array;
  /** the least precise dtype among θ and dθ in the checkpoint */
  readonly precision: Precision;
  /** training step from the checkpoint's metadata */
  readonly step: number | null;
  /** warnings found while loading (unused tensors, ...) */
  readonly loadWarnings?: readonly Warning[];
}

/** A version 1 MLP's check input (W1, b1, ...). */
export interface MlpCheckInput extends CheckInputBase {
  readonly spec: ModelSpec;
  readonly batch: Batch;
  readonly graph?: undefined;
}

/** A version 2 network's check input, under its state_dict names; buffers are read, not checked. */
export interface GraphCheckInput extends CheckInputBase {
  readonly graph: CompiledGraph;
  readonly buffers: Float64Array;
  readonly batch: GraphBatch;
  readonly spec?: undefined;
}

/** Everything a check needs, already validated: the same for the CLI and the cluster. */
export type CheckInput = MlpCheckInput | GraphCheckInput;

export type CheckMode = "full" | "sample" | "directional";

export interface CheckOptions {
  readonly mode: CheckMode;
  /** fixed finite-difference step; automatic (∛ε·max(1, |θ_i|)) when absent */
  readonly eps?: number;
  /** Richardson extrapolation from h and h/2 */
  readonly richardson: boolean;
  /** sample mode: coordinates per tensor */
  readonly samples: number;
  /** directional mode: random directions per tensor */
  readonly directions: number;
  /** seeds the sample and the directions */
  readonly seed: number;
  /** worst coordinates kept per tensor */
  readonly top: number;
}

export const DEFAULT_CHECK_OPTIONS: CheckOptions = {
  mode: "full",
  richardson: false,
  samples: 64,
  directions: 8,
  seed: 0,
  top: 5,
};

/** The step rule a check uses on the float64 backend. */
export function stepRuleFor(options: Pick<CheckOptions, "eps">): StepRule {
  return options.eps === undefined ? { kind: "auto", base: AUTO_STEP_BASE.float64 } : { kind: "fixed", eps: options.eps };
}
