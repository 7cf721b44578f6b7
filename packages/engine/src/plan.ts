import { createStream, type Layout } from "@gradcheck/core";
import type { CheckOptions } from "./check-input.js";

/** A contiguous range [start, end) of a plan's items (coordinates or directions), computed as one unit of work. */
export interface Shard {
  readonly index: number;
  readonly start: number;
  readonly end: number;
}

/** Splits [0, total) into shards of at most `shardSize` items, in order. */
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
export function localShardSize(total: number, threads: number, minimum = 256): number {
  const shardsPerThread = 8;
  return Math.max(minimum, Math.ceil(total / (threads * shardsPerThread)));
}

/**
 * The θ indices a coordinate check computes, ascending: all of them (full), or for each
 * tensor min(samples, size) distinct ones drawn from a stream seeded by (seed, tensor).
 */
export function planCoordinates(layout: Layout, options: Pick<CheckOptions, "mode" | "samples" | "seed">): Int32Array {
  if (options.mode === "full") {
    const all = new Int32Array(layout.total);
    for (let i = 0; i < all.length; i++) all[i] = i;
    return all;
  }
  const chosen: number[] = [];
  layout.tensors.forEach((slot, tensorIndex) => {
    const random = createStream(options.seed, tensorIndex);
    const count = Math.min(options.samples, slot.size);
    // Floyd's algorithm: count distinct values from [0, size) in O(count).
    const picked = new Set<number>();
    for (let candidate = slot.size - count; candidate < slot.size; candidate++) {
      const drawn = Math.floor(random() * (candidate + 1));
      picked.add(picked.has(drawn) ? candidate : drawn);
    }
    for (const local of [...picked].sort((a, b) => a - b)) chosen.push(slot.offset + local);
  });
  return Int32Array.from(chosen);
}

/** The longest a cluster shard should take, so that a lost worker costs little. */
export const MAX_SHARD_SECONDS = 2;
/** The shortest, so that the queue's overhead (a few milliseconds a job) stays small. */
export const MIN_SHARD_SECONDS = 0.05;
/** Shards per processor in the cluster: a few each balances the load when shards differ in speed. */
export const SHARDS_PER_PROCESSOR = 3;

/**
 * Cluster shard size from a measured cost per item and the processors the workers offer:
 * SHARDS_PER_PROCESSOR shards for each, unless that makes shards shorter than MIN_SHARD_SECONDS
 * or longer than MAX_SHARD_SECONDS.
 */
export function clusterShardSize(items: number, secondsPerItem: number, processors: number): number {
  const itemsIn = (seconds: number) => (secondsPerItem > 0 ? Math.floor(seconds / secondsPerItem) : items);
  const balanced = Math.ceil(items / (SHARDS_PER_PROCESSOR * Math.max(1, processors)));
  const size = Math.min(Math.max(balanced, itemsIn(MIN_SHARD_SECONDS)), itemsIn(MAX_SHARD_SECONDS));
  return Math.max(1, Math.min(size, items));
}
