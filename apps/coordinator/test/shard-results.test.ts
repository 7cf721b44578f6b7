import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { aggregateJobId, QueueName, type AggregateJobData, type CheckState } from "@gradcheck/contracts";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestApi } from "../src/test-support/api.js";
import { SHARDED_SPEC, writeTestCheckpoint } from "../src/test-support/checkpoints.js";
import { LocalCluster, REDIS_URL } from "../src/testing/local-cluster.js";

// Workers hand in each shard's results through the coordinator, which stores them in
// PostgreSQL; no worker runs here, so the check's flow waits while the test plays the worker.

let cluster: LocalCluster;
let folder: string;
let submitter: TestApi;
let worker: TestApi;
let check: CheckState;
/** the check's flow as the coordinator queued it: shards, shardSize, items */
let flow: AggregateJobData;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "gradcheck-shard-results-test-"));
  cluster = await LocalCluster.create();
  await cluster.startCoordinator();
  submitter = new TestApi(cluster.url, await cluster.key("submitter"));
  worker = new TestApi(cluster.url, await cluster.key("worker"));
  expect((await submitter.request("POST", "/models", SHARDED_SPEC)).status).toBe(201);
  const path = join(folder, "checkpoint.safetensors");
  await writeTestCheckpoint(path, SHARDED_SPEC, { batchSize: 16, seed: 3 });
  expect((await submitter.upload(SHARDED_SPEC.name, path)).status).toBe(201);
  const hash = createHash("sha256").update(await readFile(path)).digest("hex");
  const submitted = await submitter.request("POST", "/checks", { model: SHARDED_SPEC.name, checkpoint: hash, options: { mode: "full" } });
  expect(submitted.status).toBe(202);
  check = submitted.body as CheckState;
  const aggregates = new Queue(QueueName.aggregate, { connection: { url: REDIS_URL }, prefix: cluster.prefix });
  try {
    flow = (await aggregates.getJob(aggregateJobId(check.id)))!.data as AggregateJobData;
  } finally {
    await aggregates.close();
  }
}, 120_000);

afterAll(async () => {
  await cluster?.destroy();
  await rm(folder, { recursive: true, force: true });
});

/** PUT of a shard's results, as a worker sends them. */
function handIn(api: TestApi, checkId: string, index: number | string, start: number | string, end: number | string, body: Uint8Array, headers: Record<string, string> = {}) {
  return api.request("PUT", `/checks/${checkId}/shards/${index}/results?start=${start}&end=${end}`, body, headers);
}

/** Where shard `index` of the check lies. */
const shardRange = (index: number) => ({ start: index * flow.shardSize, end: Math.min(flow.items, (index + 1) * flow.shardSize) });

const storedRows = (checkId: string) => cluster.withDatabase((prisma) => prisma.shardResult.findMany({ where: { checkId }, orderBy: { shardIndex: "asc" } }));

describe("shard results handed in by workers", () => {
  it("stores a planned shard's bytes once, and says so when they come again", async () => {
    const { end } = shardRange(0);
    const body = new Uint8Array(9 * end).map((_, n) => n % 251);
    const first = await handIn(worker, check.id, 0, 0, end, body);
    expect([first.status, first.body]).toEqual([200, { stored: true }]);
    const again = await handIn(worker, check.id, 0, 0, end, new Uint8Array(9 * end));
    expect([again.status, again.body]).toEqual([200, { stored: false }]);
    const rows = await storedRows(check.id);
    expect(rows.map((row) => [row.shardIndex, row.start, row.end])).toEqual([[0, 0, end]]);
    // the first bytes stay: numeric first, then status
    expect(Buffer.from(rows[0].numeric)).toEqual(Buffer.from(body.subarray(0, 8 * end)));
    expect(Buffer.from(rows[0].status)).toEqual(Buffer.from(body.subarray(8 * end)));
  });

  it("refuses what does not fit the check's plan with a 4xx naming the problem, storing nothing", async () => {
    const last = flow.shards - 1;
    const { start, end } = shardRange(last);
    const right = new Uint8Array(9 * (end - start));
    const cases: [Promise<{ status: number; body: { message: string } }>, number, RegExp][] = [
      [handIn(worker, check.id, "x", start, end, right), 400, /the shard index must be a whole number, got "x"/],
      [handIn(worker, check.id, last, "-1", end, right), 400, /start must be a whole number, got "-1"/],
      [handIn(worker, check.id, flow.shards, start, end, right), 400, new RegExp(`has ${flow.shards} shards \\(0 to ${last}\\), not shard ${flow.shards}`)],
      [handIn(worker, check.id, last, start + 1, end, right), 400, new RegExp(`shard ${last} of check .* covers \\[${start}, ${end}\\), not \\[${start + 1}, ${end}\\)`)],
      [handIn(worker, check.id, last, start, end, right.subarray(1)), 400, new RegExp(`the body holds ${right.length - 1} bytes: shard ${last}'s ${end - start} items need ${right.length} bytes`)],
      [handIn(worker, check.id, last, start, end, new Uint8Array(right.length + 1)), 413, new RegExp(`the body is larger than ${right.length} bytes`)],
      [handIn(worker, check.id, last, start, end, right, { "content-type": "text/plain" }), 400, /Content-Type: application\/octet-stream \(got text\/plain\)/],
      [handIn(worker, "5b2f0c1e-0000-4000-8000-000000000000", 0, 0, 1, new Uint8Array(9)), 404, /no check with id "5b2f0c1e-0000-4000-8000-000000000000"/],
      [handIn(worker, "not-a-check", 0, 0, 1, new Uint8Array(9)), 404, /no check with id "not-a-check"/],
    ];
    for (const [answer, status, message] of cases) {
      const { status: got, body } = await answer;
      expect([got, body.message]).toEqual([status, expect.stringMatching(message)]);
    }
    expect((await storedRows(check.id)).map((row) => row.shardIndex)).toEqual([0]);
  });

  it("takes results only from keys of role worker or above", async () => {
    const viewer = new TestApi(cluster.url, await cluster.key("viewer"));
    const answer = await handIn(viewer, check.id, 0, 0, 1, new Uint8Array(9));
    expect([answer.status, answer.body.message]).toEqual([403, expect.stringMatching(/role worker or above; this key's role is viewer/)]);
    // a worker key reads, and may download checkpoints, but cannot submit
    expect((await worker.request("GET", `/checks/${check.id}`)).status).toBe(200);
    expect((await worker.request("POST", "/checks", { model: SHARDED_SPEC.name, checkpoint: check.checkpoint })).status).toBe(403);
  });

  it("answers 409 once the check has finished or was cancelled", async () => {
    expect((await submitter.request("POST", `/checks/${check.id}/cancel`)).status).toBe(200);
    const { start, end } = shardRange(flow.shards - 1);
    const answer = await handIn(worker, check.id, flow.shards - 1, start, end, new Uint8Array(9 * (end - start)));
    expect([answer.status, answer.body.message]).toEqual([409, expect.stringMatching(/is cancelled: its shard results are no longer taken/)]);
  });
});
