import { CoordinateStatus } from "@gradcheck/core";
import type { ShardResult } from "./shard.js";

export interface MergedResults {
  readonly numeric: Float64Array;
  readonly status: Uint8Array;
}

/**
 * Places every shard's results at its positions in the plan. Refuses gaps and double
 * counting, so a shard retried after a crash can never be counted twice.
 */
export function mergeShardResults(count: number, results: readonly ShardResult[]): MergedResults {
  const numeric = new Float64Array(count);
  const status = new Uint8Array(count);
  const covered = new Uint8Array(count);
  for (const { shard, numeric: values, status: flags } of results) {
    if (shard.start < 0 || shard.end > count || values.length !== shard.end - shard.start) {
      throw new Error(`shard ${shard.index} [${shard.start}, ${shard.end}) does not fit a plan of ${count} items`);
    }
    for (let i = shard.start; i < shard.end; i++) {
      if (covered[i]) throw new Error(`item ${i} was computed twice (shard ${shard.index})`);
      covered[i] = 1;
    }
    numeric.set(values, shard.start);
    status.set(flags, shard.start);
  }
  const gap = covered.indexOf(0);
  if (gap !== -1) throw new Error(`item ${gap} was not computed by any shard`);
  return { numeric, status };
}

/** Spreads results over a coordinate plan into θ-sized arrays; coordinates outside the plan stay unchecked. */
export function scatterToTheta(total: number, plan: Int32Array, merged: MergedResults): MergedResults {
  const numeric = new Float64Array(total);
  const status = new Uint8Array(total).fill(CoordinateStatus.unchecked);
  plan.forEach((index, position) => {
    numeric[index] = merged.numeric[position];
    status[index] = merged.status[position];
  });
  return { numeric, status };
}
