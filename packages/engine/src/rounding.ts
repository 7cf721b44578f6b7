import { gradientArithmetic, gradientNoiseFloor, streamedRoundingTolerance, type Layout, type Precision, type RoundingTolerance } from "@gradcheck/core";
import { graphRoundingStudy, networkFromTheta, streamRoundingStudy } from "@gradcheck/models";
import type { CheckInput } from "./check-input.js";

/** The check's rounding allowances and what they were measured for. */
export interface MeasuredRounding {
  /** the arithmetic dθ is held to: the checkpoint's precision, or F32 for float32 values stored as F64 */
  readonly arithmetic: Precision;
  /** emulated backprops the study ran */
  readonly runs: number;
  readonly tolerance: RoundingTolerance;
  /** the smallest gradient per coordinate this arithmetic resolves: the floor under relative differences */
  readonly noiseFloor: number;
}

/**
 * It depends on the checkpoint alone: the cluster's aggregator keeps its last checkpoint's
 * input (LastCheckpoint), so further checks of it (other modes, seeds) reuse the study.
 */
const studied = new WeakMap<CheckInput, MeasuredRounding>();

/**
 * Runs the rounding study on the probe batch: what a correct backprop in dθ's arithmetic gets
 * wrong on this model. Part of the aggregator, so every executor reports the same tolerances.
 */
export function measureRounding(input: CheckInput, layout: Layout, cost: number): MeasuredRounding {
  const known = studied.get(input);
  if (known) return known;
  const arithmetic = gradientArithmetic(input.precision, input.analytic);
  // a tensor at a time: the study holds one layer's figures, never θ-sized copies of them
  const study = input.graph
    ? graphRoundingStudy(input.graph, input.theta, input.buffers, input.batch, arithmetic)
    : streamRoundingStudy(networkFromTheta(input.spec, input.theta), input.batch, arithmetic);
  const noiseFloor = gradientNoiseFloor(arithmetic, cost);
  const measured = { arithmetic, runs: study.runs, tolerance: streamedRoundingTolerance(layout, arithmetic, study.tensors, noiseFloor), noiseFloor };
  studied.set(input, measured);
  return measured;
}
