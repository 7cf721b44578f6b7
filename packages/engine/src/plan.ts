/** A contiguous range [start, end) of θ's indices, computed as one unit of work. */
export interface Shard {
  readonly index: number;
  readonly start: number;
  readonly end: number;
}

/** Splits [0, total) into shards of at most `shardSize` coordinates, in order. */
export function planShards(total: number, shardSize: number): Shard[] {
  if (!Number.isInteger(shardSize) || shardSize < 1) throw new RangeError(`shard size must be a positive integer, got ${shardSize}`);
  const shards: Shard[] = [];
  for (let start = 0, index = 0; start < total; start += shardSize, index++) {
    shards.push({ index, start, end: Math.min(total, start + shardSize) });
  }
  return shards;
}

/**
 * Enough shards per thread for load balancing and a smooth progress bar, without
 * paying per-shard overhead on tiny models.
 */
export function localShardSize(total: number, threads: number): number {
  const shardsPerThread = 8;
  return Math.max(256, Math.ceil(total / (threads * shardsPerThread)));
}
