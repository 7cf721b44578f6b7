import type { PerturbedCostBackend } from "@gradcheck/compute";
import { stepSize, type Layout } from "@gradcheck/core";
import { DEFAULT_CHECK_OPTIONS, stepRuleFor, type CheckInput, type CheckOptions } from "./check-input.js";
import { layoutOf } from "./checked-model.js";
import { planDirections, type DirectionRef } from "./directions.js";
import { planCoordinates, type Shard } from "./plan.js";
import { runShard, type ShardSettings, type ShardWork } from "./shard.js";

/**
 * What a check computes, derived from the input and options alone: the same in the CLI, in
 * the coordinator and in every cluster worker, so each can rebuild any shard's work by itself.
 */
export interface CheckPlan {
  readonly layout: Layout;
  readonly settings: ShardSettings;
  /** coordinate modes: the θ indices, ascending */
  readonly coordinates?: Int32Array;
  /** directional mode: the directions, grouped by tensor */
  readonly directions?: readonly DirectionRef[];
  /** how many items (coordinates or directions) the shards split */
  readonly items: number;
}

export function planCheck(input: CheckInput, options: CheckOptions): CheckPlan {
  const step = stepRuleFor(options);
  const settings: ShardSettings = {
    step,
    richardson: options.richardson,
    // Full mode takes no seed (reports say null): the screen's float64 sample must not depend on one.
    seed: options.mode === "full" ? DEFAULT_CHECK_OPTIONS.seed : options.seed,
    directionStep: stepSize(step, maxAbs(input.theta)),
  };
  const layout = layoutOf(input);
  if (options.mode === "directional") {
    const directions = planDirections(layout, options.directions);
    return { layout, settings, directions, items: directions.length };
  }
  const coordinates = planCoordinates(layout, options);
  return { layout, settings, coordinates, items: coordinates.length };
}

/** The work of one shard of a plan. */
export function shardWork(plan: CheckPlan, shard: Shard): ShardWork {
  if (shard.start < 0 || shard.end > plan.items || shard.start >= shard.end) {
    throw new RangeError(`shard ${shard.index} [${shard.start}, ${shard.end}) does not fit a plan of ${plan.items} items`);
  }
  return plan.coordinates
    ? { kind: "coordinates", indices: plan.coordinates.subarray(shard.start, shard.end) }
    : { kind: "directions", directions: plan.directions!.slice(shard.start, shard.end) };
}

function maxAbs(values: Float64Array): number {
  let max = 0;
  for (const value of values) max = Math.max(max, Math.abs(value));
  return max;
}

/**
 * Seconds one item of the plan takes on this backend, timed on its first items (at least
 * `minimumSeconds` of work, or the whole plan): the basis of the cluster's shard size. Each
 * batch is run twice and the second run timed: the first fills what the evaluator prepares
 * per unit on first use (and warms the JIT), which a whole shard spreads over all its items.
 */
export function timePerItem(backend: PerturbedCostBackend, plan: CheckPlan, minimumSeconds = 0.02): number {
  let items = 1;
  for (;;) {
    const shard = { index: 0, start: 0, end: Math.min(items, plan.items) };
    const work = shardWork(plan, shard);
    runShard(backend, plan.layout, shard, work, plan.settings);
    const started = performance.now();
    runShard(backend, plan.layout, shard, work, plan.settings);
    const seconds = (performance.now() - started) / 1000;
    if (seconds >= minimumSeconds || shard.end === plan.items) return seconds / shard.end;
    items *= 4;
  }
}
