import { shardJobResultSchema } from "@gradcheck/contracts";
import type { ShardResultStore } from "@gradcheck/db";
import { shardResultFromBytes, type ShardResult } from "@gradcheck/engine";

/**
 * The results of a check's shards, in shard order, for aggregation: who computed each from
 * its job's return value, the values themselves from the rows its worker stored through the
 * coordinator before the job finished (see ShardResultsService).
 */
export async function loadShardResults(store: ShardResultStore, checkId: string, values: readonly unknown[]): Promise<ShardResult[]> {
  const received = values.map((value) => shardJobResultSchema.parse(value)).sort((a, b) => a.shard.index - b.shard.index);
  const rows = await store.read(checkId);
  const byIndex = new Map(rows.map((row) => [row.shardIndex, row]));
  return received.map((result) => {
    const row = byIndex.get(result.shard.index);
    const { index, start, end } = result.shard;
    if (!row || row.start !== start || row.end !== end) {
      throw new Error(`check ${checkId}: the results of shard ${index} [${start}, ${end}) are missing from the database, although its job finished`);
    }
    return shardResultFromBytes(result, row.numeric, row.status);
  });
}
