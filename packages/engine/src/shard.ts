import type { PerturbedCostBackend } from "@gradcheck/compute";
import type { Shard } from "./plan.js";

/** Numerical derivatives of one shard, and which of its coordinates crossed a kink. */
export interface ShardResult {
  readonly shard: Shard;
  readonly numeric: Float64Array;
  readonly status: Uint8Array;
}

/** The shard function: the same in a local thread and in a cluster worker. */
export function runShard(
  backend: PerturbedCostBackend,
  shard: Shard,
  eps: number,
  onProgress?: (done: number) => void,
): ShardResult {
  return { shard, ...backend.centralDifferences(shard.start, shard.end, eps, onProgress) };
}
