import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadMigrations, migratePglite, migratePostgres } from "./migrate.js";
import { createTestDatabase, type TestDatabase } from "./testing.js";

const TABLES = ["Alert", "ApiKey", "Audit", "AuditEntry", "AuditFile", "Check", "Checkpoint", "Diagnosis", "Model", "ModelVersion", "ShardResult", "TensorResult", "WorstCoordinate"];
const LIST_TABLES = `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT LIKE '\\_%' ORDER BY table_name`;

describe("migrations on PostgreSQL", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it("creates every table once, and records what ran", async () => {
    const first = await migratePostgres(database.url);
    const second = await migratePostgres(database.url);
    expect(first.applied).toEqual((await loadMigrations()).map((m) => m.name));
    expect(second).toEqual({ applied: [], skipped: first.applied });
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const tables = (await client.query(LIST_TABLES)).rows.map((row) => row.table_name);
    await client.end();
    expect(tables).toEqual(TABLES);
  });

  it("brings a history of the first release forward: each model's spec its version 1, each check its checkpoint's step", async () => {
    const old = await createTestDatabase();
    const client = new pg.Client({ connectionString: old.url });
    await client.connect();
    try {
      const [first, ...rest] = await loadMigrations();
      await migratePostgres(client, [first]);
      await client.query(`INSERT INTO "Model" (id, name, spec, "updatedAt") VALUES ('m1', 'mlp', '{"l2": 0.1}', now())`);
      await client.query(`INSERT INTO "Checkpoint" (id, "modelId", "contentHash", step, dtype, "sizeBytes") VALUES ('c1', 'm1', 'h', 300, 'F64', 1)`);
      await client.query(`INSERT INTO "Check" (id, "modelId", "checkpointId", status, mode, options, "optionsHash", backend) VALUES ('k1', 'm1', 'c1', 'done', 'full', '{}', 'x', 'cpu')`);
      expect((await migratePostgres(client, [first, ...rest])).applied).toEqual(rest.map((migration) => migration.name));
      expect((await client.query(`SELECT "modelId", version, spec FROM "ModelVersion"`)).rows).toEqual([{ modelId: "m1", version: 1, spec: { l2: 0.1 } }]);
      expect((await client.query(`SELECT run, step, "specVersion" FROM "Check"`)).rows).toEqual([{ run: "default", step: 300, specVersion: 1 }]);
    } finally {
      await client.end();
      await old.drop();
    }
  });

  it("is safe when several processes migrate at once", async () => {
    const fresh = await createTestDatabase();
    try {
      const results = await Promise.allSettled([1, 2, 3].map(() => migratePostgres(fresh.url)));
      expect(results.map((result) => result.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
      const applied = results.flatMap((result) => (result.status === "fulfilled" ? result.value.applied : []));
      expect(applied).toEqual((await loadMigrations()).map((m) => m.name));
    } finally {
      await fresh.drop();
    }
  });

  it("refuses a migration that was edited after it ran", async () => {
    const [first] = await loadMigrations();
    await expect(migratePostgres(database.url, [{ ...first, sql: `${first.sql}\n-- edited` }])).rejects.toThrow(/changed after it was applied/);
  });
});

describe("migrations on PGlite", () => {
  it("creates the same tables in an embedded database", async () => {
    const db = await PGlite.create();
    try {
      await migratePglite(db);
      expect((await migratePglite(db)).applied).toEqual([]);
      const tables = (await db.query<{ table_name: string }>(LIST_TABLES)).rows.map((row) => row.table_name);
      expect(tables).toEqual(TABLES);
    } finally {
      await db.close();
    }
  }, 60_000);
});
