import { randomUUID } from "node:crypto";
import pg from "pg";

/** One shard's results as stored: float64 values and status bytes of items [start, end). */
export interface StoredShardResult {
  readonly shardIndex: number;
  readonly start: number;
  readonly end: number;
  readonly numeric: Uint8Array;
  readonly status: Uint8Array;
}

/**
 * The `ShardResult` table's bytes, through node-postgres rather than Prisma: a 0.92M check
 * hands in 8 MB of them, and Prisma's Bytes type turns each value into a string and back,
 * which cost the coordinator several times the CPU of node-postgres's binary parameters and
 * native hex decoding (see docs/cluster-notes.md). The rows are the ones Prisma's schema declares; PostgreSQL only.
 */
export class ShardResultStore {
  private readonly pool: pg.Pool;

  constructor(url: string) {
    // A few connections: writes come one per finished shard, reads one per aggregation.
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
    // An idle connection that drops is replaced on the next query; it must not crash the process.
    this.pool.on("error", () => undefined);
  }

  /** Stores a shard's results once: false when that (check, shard) was stored before. */
  async store(checkId: string, result: StoredShardResult): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO "ShardResult" ("id", "checkId", "shardIndex", "start", "end", "numeric", "status")
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT ("checkId", "shardIndex") DO NOTHING`,
      // Buffers travel as binary parameters.
      [randomUUID(), checkId, result.shardIndex, result.start, result.end, asBuffer(result.numeric), asBuffer(result.status)],
    );
    return rowCount === 1;
  }

  /** The check's stored shard results, in shard order. */
  async read(checkId: string): Promise<StoredShardResult[]> {
    // Text results: node-postgres decodes hex bytea natively (its binary results pass
    // through UTF-8 and would corrupt the bytes).
    const { rows } = await this.pool.query<StoredShardResult>(
      `SELECT "shardIndex", "start", "end", "numeric", "status" FROM "ShardResult" WHERE "checkId" = $1 ORDER BY "shardIndex"`,
      [checkId],
    );
    return rows;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
