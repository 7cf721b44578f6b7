import type { ShardResult } from "./shard.js";

export interface MergedResults {
  readonly numeric: Float64Array;
  readonly status: Uint8Array;
}

/**
 * Places every shard's results at its indices. Refuses gaps and double counting, so a
 * shard retried after a crash can never be counted twice.
 */
export function mergeShardResults(total: number, results: readonly ShardResult[]): MergedResults {
  const numeric = new Float64Array(total);
  const status = new Uint8Array(total);
  const covered = new Uint8Array(total);
  for (const { shard, numeric: values, status: flags } of results) {
    if (shard.start < 0 || shard.end > total || values.length !== shard.end - shard.start) {
      throw new Error(`shard ${shard.index} [${shard.start}, ${shard.end}) does not fit θ of ${total} coordinates`);
    }
    for (let i = shard.start; i < shard.end; i++) {
      if (covered[i]) throw new Error(`coordinate ${i} was computed twice (shard ${shard.index})`);
      covered[i] = 1;
    }
    numeric.set(values, shard.start);
    status.set(flags, shard.start);
  }
  const gap = covered.indexOf(0);
  if (gap !== -1) throw new Error(`coordinate ${gap} was not computed by any shard`);
  return { numeric, status };
}
