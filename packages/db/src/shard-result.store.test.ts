import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "./client.js";
import type { PrismaClient } from "./generated/prisma/client.js";
import { ShardResultStore } from "./shard-result.store.js";
import { createTestDatabase, type TestDatabase } from "./testing.js";

describe("ShardResultStore on PostgreSQL", () => {
  let database: TestDatabase;
  let prisma: PrismaClient;
  let store: ShardResultStore;

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = await createClient({ url: database.url, migrate: true });
    store = new ShardResultStore(database.url);
  }, 60_000);
  afterAll(async () => {
    await store.close();
    await prisma.$disconnect();
    await database.drop();
  });

  async function newCheck(): Promise<string> {
    const model = await prisma.model.create({ data: { name: `m-${randomBytes(4).toString("hex")}`, spec: {} } });
    const checkpoint = await prisma.checkpoint.create({ data: { modelId: model.id, contentHash: "h", dtype: "F64", sizeBytes: 1n } });
    const check = await prisma.check.create({
      data: { modelId: model.id, checkpointId: checkpoint.id, status: "running", mode: "full", options: {}, optionsHash: "o", backend: "pending" },
    });
    return check.id;
  }

  it("gives back every byte as stored, in shard order, and stores a (check, shard) once", async () => {
    const checkId = await newCheck();
    // every byte value, including those no text encoding would carry through
    const numeric = new Uint8Array(8 * 300).map((_, n) => n % 256);
    const status = Uint8Array.from(randomBytes(300));
    const later = { shardIndex: 1, start: 300, end: 600, numeric: numeric.slice().reverse(), status: status.slice().reverse() };
    expect(await store.store(checkId, later)).toBe(true);
    expect(await store.store(checkId, { shardIndex: 0, start: 0, end: 300, numeric, status })).toBe(true);
    expect(await store.store(checkId, { ...later, numeric: new Uint8Array(2400) })).toBe(false);

    const rows = await store.read(checkId);
    expect(rows.map((row) => [row.shardIndex, row.start, row.end])).toEqual([
      [0, 0, 300],
      [1, 300, 600],
    ]);
    expect(Buffer.compare(rows[0].numeric, numeric)).toBe(0);
    expect(Buffer.compare(rows[0].status, status)).toBe(0);
    expect(Buffer.compare(rows[1].numeric, later.numeric)).toBe(0);
    // Prisma reads the same rows: the store writes the table its schema declares.
    const viaPrisma = await prisma.shardResult.findMany({ where: { checkId }, orderBy: { shardIndex: "asc" } });
    expect(Buffer.compare(viaPrisma[1].status, later.status)).toBe(0);
    expect(await store.read(await newCheck())).toEqual([]);
  });

  it("stores a view into a larger buffer as the view's bytes only", async () => {
    const checkId = await newCheck();
    const whole = Uint8Array.from({ length: 64 }, (_, n) => n);
    await store.store(checkId, { shardIndex: 0, start: 0, end: 1, numeric: whole.subarray(8, 16), status: whole.subarray(20, 21) });
    const [row] = await store.read(checkId);
    expect([...row.numeric]).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
    expect([...row.status]).toEqual([20]);
  });
});
