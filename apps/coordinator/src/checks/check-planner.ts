import type { CheckOptionsRecord, ShardJobData } from "@gradcheck/contracts";
import {
  assertCheckableCost,
  clusterShardSize,
  LastCheckpoint,
  type LoadedCheckpoint,
  planCheck,
  planShards,
  timePerItem,
  type Shard,
} from "@gradcheck/engine";
import { parseCheckSpec } from "@gradcheck/models";

/** Work timed to size shards: enough for a stable rate, little next to a check worth sharding. */
const CALIBRATION_SECONDS = 0.005;

/** Checks of one checkpoint tend to come together (several modes, retries). */
const checkpoints = new LastCheckpoint();
/** What was learnt of a loaded checkpoint: its cost is checkable; seconds per item by kind of check. */
const verified = new WeakSet<LoadedCheckpoint>();
const secondsPerItem = new WeakMap<LoadedCheckpoint, Map<string, number>>();

/** A check cut into shards for the queue. */
export interface ShardedCheck {
  readonly shards: Shard[];
  readonly shardSize: number;
  readonly items: number;
}

/**
 * Plans a check with the engine's planner: refuses a cost that cannot be checked (422),
 * times a few items on this machine, and sizes shards for the processors the workers offer.
 */
export async function shardCheck(checkpointPath: string, specJson: unknown, options: CheckOptionsRecord, processors: number): Promise<ShardedCheck> {
  const loaded = await checkpoints.load(checkpointPath, parseCheckSpec(specJson, "the model spec"), "the stored checkpoint");
  const { input, backend } = loaded;
  const plan = planCheck(input, options);
  if (!verified.has(loaded)) {
    assertCheckableCost(input, backend);
    verified.add(loaded);
  }
  const rates = secondsPerItem.get(loaded) ?? new Map<string, number>();
  secondsPerItem.set(loaded, rates);
  // The cost of an item depends on what kind of item it is, not on which or how many.
  const kind = JSON.stringify([options.mode === "directional", options.richardson, options.eps]);
  const rate = rates.get(kind) ?? timePerItem(backend, plan, CALIBRATION_SECONDS);
  rates.set(kind, rate);
  const shardSize = clusterShardSize(plan.items, rate, processors);
  return { shards: planShards(plan.items, shardSize), shardSize, items: plan.items };
}

export function shardJobs(checkId: string, checkpointHash: string, spec: unknown, options: CheckOptionsRecord, shards: readonly Shard[]): ShardJobData[] {
  return shards.map((shard) => ({ checkId, checkpointHash, spec, options, shard: { index: shard.index, start: shard.start, end: shard.end } }));
}
