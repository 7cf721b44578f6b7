import { AUTO_STEP_BASE, type Precision, type StepRule } from "@gradcheck/core";
import { checkOptionsSchema, type CheckOptionsRecord, type Warning } from "@gradcheck/contracts";
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

export type { CheckMode } from "@gradcheck/contracts";

/** The check options, as contracts' schema defines them (fields, limits and defaults). */
export type CheckOptions = Readonly<CheckOptionsRecord>;

export const DEFAULT_CHECK_OPTIONS: CheckOptions = Object.freeze(checkOptionsSchema.parse({}));

/** The step rule a check uses on the float64 backend. */
export function stepRuleFor(options: Pick<CheckOptions, "eps">): StepRule {
  return options.eps === undefined ? { kind: "auto", base: AUTO_STEP_BASE.float64 } : { kind: "fixed", eps: options.eps };
}
