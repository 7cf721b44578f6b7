import { shardJobResultSchema } from "@gradcheck/contracts";
import type { PrismaClient } from "@gradcheck/db";
import { decodeShardResult, type ShardResult } from "@gradcheck/engine";

/**
 * Stores each shard's results once per (check, shard) — a shard recomputed after a worker
 * crash is not stored again — and returns them decoded, in shard order, for aggregation.
 */
export async function storeShardResults(prisma: PrismaClient, checkId: string, values: readonly unknown[]): Promise<ShardResult[]> {
  const received = values.map((value) => shardJobResultSchema.parse(value));
  await prisma.shardResult.createMany({
    data: received.map((result) => ({
      checkId,
      shardIndex: result.shard.index,
      start: result.shard.start,
      end: result.shard.end,
      numeric: Buffer.from(result.numeric, "base64"),
      status: Buffer.from(result.status, "base64"),
    })),
    skipDuplicates: true,
  });
  return received.map(decodeShardResult).sort((a, b) => a.shard.index - b.shard.index);
}
