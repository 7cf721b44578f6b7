import { shardJobResultSchema } from "@gradcheck/contracts";
import type { PrismaClient } from "@gradcheck/db";
import { shardResultFromBytes, type ShardResult } from "@gradcheck/engine";

/**
 * Stores each shard's results once per (check, shard) — a shard recomputed after a worker
 * crash is not stored again — and returns them decoded, in shard order, for aggregation.
 */
export async function storeShardResults(prisma: PrismaClient, checkId: string, values: readonly unknown[]): Promise<ShardResult[]> {
  const received = values.map((value) => shardJobResultSchema.parse(value));
  // the base64 decoded once, for the rows and for the results
  const bytes = received.map((result) => ({ numeric: Buffer.from(result.numeric, "base64"), status: Buffer.from(result.status, "base64") }));
  await prisma.shardResult.createMany({
    data: received.map((result, n) => ({
      checkId,
      shardIndex: result.shard.index,
      start: result.shard.start,
      end: result.shard.end,
      numeric: bytes[n].numeric,
      status: bytes[n].status,
    })),
    skipDuplicates: true,
  });
  return received.map((result, n) => shardResultFromBytes(result, bytes[n].numeric, bytes[n].status)).sort((a, b) => a.shard.index - b.shard.index);
}
