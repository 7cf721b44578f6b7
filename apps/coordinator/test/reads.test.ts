import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { aggregateJobId, QueueName } from "@gradcheck/contracts";
import { Queue } from "bullmq";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestApi } from "../src/test-support/api.js";
import { MNIST_SPEC, writeTestCheckpoint } from "../src/test-support/checkpoints.js";
import { LocalCluster, REDIS_URL, type ClusterProcess } from "../src/testing/local-cluster.js";

// Reads change nothing: every GET of the API, against a finished check and a queued one,
// with the database counting every statement that writes a row.

let cluster: LocalCluster;
let coordinator: ClusterProcess;
let api: TestApi;
let folder: string;
let database: pg.Client;
const ids: { done?: string; queued?: string; lost?: string } = {};

/** Installs a trigger on every table of the schema that counts each INSERT, UPDATE and DELETE statement. */
async function countWrites(client: pg.Client): Promise<void> {
  await client.query(`
    CREATE TABLE IF NOT EXISTS test_writes (at timestamptz DEFAULT now(), tab text, op text);
    CREATE OR REPLACE FUNCTION test_count_write() RETURNS trigger AS $$
    BEGIN INSERT INTO test_writes (tab, op) VALUES (TG_TABLE_NAME, TG_OP); RETURN NULL; END $$ LANGUAGE plpgsql;`);
  const { rows } = await client.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'test_writes'`);
  for (const { name } of rows) {
    await client.query(`CREATE TRIGGER test_count_${name.toLowerCase()} AFTER INSERT OR UPDATE OR DELETE ON "${name}" FOR EACH STATEMENT EXECUTE FUNCTION test_count_write()`);
  }
}

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "gradcheck-reads-test-"));
  cluster = await LocalCluster.create();
  // no status sweeps: what a read does is all that happens
  coordinator = await cluster.startCoordinator({ GRADCHECK_STATUS_SWEEP_MS: "0" });
  api = new TestApi(cluster.url, await cluster.key("submitter"));
  expect((await api.request("POST", "/models", MNIST_SPEC)).status).toBe(201);
  const path = join(folder, "mnist.safetensors");
  await writeTestCheckpoint(path, MNIST_SPEC, { batchSize: 16, seed: 1, step: 10 });
  expect((await api.upload(MNIST_SPEC.name, path)).status).toBe(201);
  const checkpoint = createHash("sha256").update(await readFile(path)).digest("hex");
  const worker = await cluster.startWorker();
  ids.done = (await api.request("POST", "/checks", { model: MNIST_SPEC.name, checkpoint, options: { mode: "sample", samples: 4 } })).body.id;
  expect((await api.waitFor(ids.done!)).status).toBe("done");
  worker.kill("SIGTERM");
  await worker.exited;
  // no worker now: this one stays queued
  ids.queued = (await api.request("POST", "/checks", { model: MNIST_SPEC.name, checkpoint, options: { mode: "sample", samples: 5 } })).body.id;
  // and this one's jobs are lost, long ago (as when Redis is flushed): a read used to mark it failed
  ids.lost = (await api.request("POST", "/checks", { model: MNIST_SPEC.name, checkpoint, options: { mode: "sample", samples: 6 } })).body.id;
  const aggregates = new Queue(QueueName.aggregate, { connection: { url: REDIS_URL }, prefix: cluster.prefix });
  await aggregates.remove(aggregateJobId(ids.lost!), { removeChildren: true });
  await aggregates.close();
  database = new pg.Client({ connectionString: cluster.database.url });
  await database.connect();
  await database.query(`UPDATE "Check" SET "createdAt" = now() - interval '5 minutes' WHERE id = $1`, [ids.lost]);
  await countWrites(database);
}, 120_000);

afterAll(async () => {
  await database?.end();
  await cluster?.destroy();
  await rm(folder, { recursive: true, force: true });
});

describe("reads", () => {
  it("write nothing: every GET, of a finished check and of a queued one, SSE included", async () => {
    const { rows: before } = await database.query("SELECT count(*)::int AS n FROM test_writes");
    const paths = [
      `/checks/${ids.done}`,
      `/checks/${ids.queued}`,
      `/checks/${ids.lost}`,
      "/checks",
      "/checks?status=queued",
      "/models",
      `/models/${MNIST_SPEC.name}`,
      `/models/${MNIST_SPEC.name}/history`,
      `/models/${MNIST_SPEC.name}/checkpoints`,
      "/health/ready",
      "/metrics",
    ];
    for (let round = 0; round < 3; round++) {
      for (const path of paths) expect([path, (await api.request("GET", path)).status]).toEqual([path, 200]);
    }
    // a queued check's event stream polls its state for as long as it is open
    const stream = await fetch(`${cluster.url}/api/v1/checks/${ids.queued}/events`, { headers: { authorization: `Bearer ${api.key}` }, signal: AbortSignal.timeout(2_500) });
    await stream.text().catch(() => undefined);
    const done = await (await fetch(`${cluster.url}/api/v1/checks/${ids.done}/events`, { headers: { authorization: `Bearer ${api.key}` } })).text();
    expect(done).toMatch(/^event: end$/m);
    const { rows: writes } = await database.query("SELECT tab, op FROM test_writes");
    expect(writes.length - before[0].n).toBe(0);
  });

  it("leave a lost check to the status keeper, which fails it, saying why, once it sweeps", async () => {
    expect((await api.request("GET", `/checks/${ids.lost}`)).body.status).toBe("queued");
    coordinator.kill("SIGTERM");
    await coordinator.exited;
    coordinator = await cluster.startCoordinator({ GRADCHECK_STATUS_SWEEP_MS: "200" });
    const failed = await api.waitFor(ids.lost!, 15_000);
    expect([failed.status, failed.error]).toEqual(["failed", "the check's jobs are no longer in the queue (was Redis flushed?); submit it again"]);
    // the queued one, whose jobs are there, is left as it is
    expect((await api.request("GET", `/checks/${ids.queued}`)).body.status).toBe("queued");
  }, 60_000);

  it("and the count would see a write", async () => {
    const { rows: before } = await database.query("SELECT count(*)::int AS n FROM test_writes");
    expect((await api.request("POST", `/checks/${ids.queued}/cancel`)).status).toBe(200);
    const { rows: after } = await database.query("SELECT count(*)::int AS n FROM test_writes");
    expect(after[0].n).toBeGreaterThan(before[0].n);
  });
});
