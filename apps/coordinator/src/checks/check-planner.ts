import type { CheckOptionsRecord, ShardJobData } from "@gradcheck/contracts";
import {
  assertCheckableCost,
  backendFor,
  clusterShardSize,
  loadCheckInput,
  planCheck,
  planShards,
  timePerItem,
  type Shard,
} from "@gradcheck/engine";
import type { ModelSpec } from "@gradcheck/models";

/** A check cut into shards for the queue. */
export interface ShardedCheck {
  readonly shards: Shard[];
  readonly shardSize: number;
  readonly items: number;
}

/**
 * Plans a check with the engine's planner: refuses a cost that cannot be checked (422),
 * times a few items on this machine, and sizes shards to take a couple of seconds each.
 */
export async function shardCheck(checkpointPath: string, spec: ModelSpec, options: CheckOptionsRecord): Promise<ShardedCheck> {
  const input = await loadCheckInput(checkpointPath, spec, "the stored checkpoint");
  const plan = planCheck(input, options);
  const backend = backendFor({
    spec,
    theta: input.theta,
    inputs: input.batch.inputs,
    targets: input.batch.targets,
    batchSize: input.batch.size,
    settings: plan.settings,
  });
  assertCheckableCost(input, backend);
  const shardSize = clusterShardSize(plan.items, timePerItem(backend, spec, plan));
  return { shards: planShards(plan.items, shardSize), shardSize, items: plan.items };
}

export function shardJobs(checkId: string, checkpointHash: string, spec: ModelSpec, options: CheckOptionsRecord, shards: readonly Shard[]): ShardJobData[] {
  return shards.map((shard) => ({ checkId, checkpointHash, spec, options, shard: { index: shard.index, start: shard.start, end: shard.end } }));
}
