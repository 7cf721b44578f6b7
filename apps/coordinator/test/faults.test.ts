import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CheckState } from "@gradcheck/contracts";
import { loadCheckInput, runLocalCheck, DEFAULT_CHECK_OPTIONS } from "@gradcheck/engine";
import { afterEach, beforeAll, afterAll, describe, expect, it } from "vitest";
import { canonicalFindings, TestApi } from "../src/test-support/api.js";
import { MNIST_SPEC, SHARDED_SPEC, writeCheckpointWithNaN, writeTestCheckpoint } from "../src/test-support/checkpoints.js";
import { LocalCluster } from "../src/testing/local-cluster.js";

// Faults with real processes: workers and the coordinator killed mid-check, Redis out of
// reach, bad uploads. Each test gets a cluster of its own.

let folder: string;
let slowCheckpoint: string;
let localReport: unknown;
let cluster: LocalCluster | undefined;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "gradcheck-faults-"));
  // A big probe batch: about four seconds of shards on one processor, time to kill things.
  slowCheckpoint = join(folder, "slow.safetensors");
  await writeTestCheckpoint(slowCheckpoint, MNIST_SPEC, { batchSize: 256, seed: 21, step: 7 });
  localReport = await runLocalCheck(await loadCheckInput(slowCheckpoint, MNIST_SPEC), { ...DEFAULT_CHECK_OPTIONS, threads: 1 });
}, 120_000);

afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function startSlowCheck(): Promise<{ api: TestApi; state: CheckState }> {
  cluster = await LocalCluster.create();
  await cluster.startCoordinator();
  const api = new TestApi(cluster.url, await cluster.key("submitter"));
  expect((await api.request("POST", "/models", MNIST_SPEC)).status).toBe(201);
  const { body: checkpoint } = await api.upload(MNIST_SPEC.name, slowCheckpoint);
  const { status, body } = await api.request("POST", "/checks", { model: MNIST_SPEC.name, checkpoint: checkpoint.hash, options: { mode: "full" } });
  expect(status).toBe(202);
  return { api, state: body as CheckState };
}

describe("faults", () => {
  it("a worker SIGKILLed mid-check: the check completes, identical, no shard counted twice", async () => {
    const { api, state } = await startSlowCheck();
    const doomed = await cluster!.startWorker();
    await api.waitFor(state.id, 60_000, (now) => now.progress.shardsDone >= 2);
    doomed.kill("SIGKILL");
    expect(await doomed.exited).toBe("SIGKILL");
    await cluster!.startWorker();
    const done = await api.waitFor(state.id, 90_000);
    expect(done.status).toBe("done");
    expect(canonicalFindings(done.report)).toBe(canonicalFindings(localReport));
    const stored = await cluster!.withDatabase((prisma) => prisma.shardResult.findMany({ where: { checkId: state.id }, orderBy: { shardIndex: "asc" } }));
    expect(stored.map((row) => row.shardIndex)).toEqual(Array.from({ length: done.progress.shardsTotal }, (_, index) => index));
    expect(stored.reduce((items, row) => items + row.end - row.start, 0)).toBe(done.report!.coordinates.total);
  }, 180_000);

  it("the coordinator restarted mid-check: the check completes, identical", async () => {
    const { api, state } = await startSlowCheck();
    await cluster!.startWorker();
    await api.waitFor(state.id, 60_000, (now) => now.progress.shardsDone >= 1);
    cluster!.coordinator!.kill("SIGKILL");
    await cluster!.coordinator!.exited;
    await cluster!.startCoordinator();
    const done = await api.waitFor(state.id, 90_000);
    expect(done.status).toBe("done");
    expect(canonicalFindings(done.report)).toBe(canonicalFindings(localReport));
  }, 180_000);

  it("Redis unreachable at submission: 503 with a clear message, and no check created", async () => {
    cluster = await LocalCluster.create();
    await cluster.startCoordinator({ REDIS_URL: "redis://127.0.0.1:1" }, "live");
    const api = new TestApi(cluster.url, await cluster.key("submitter"));
    expect((await api.request("GET", "/health/ready")).status).toBe(503);
    expect((await api.request("POST", "/models", MNIST_SPEC)).status).toBe(201);
    const { body: checkpoint } = await api.upload(MNIST_SPEC.name, slowCheckpoint);
    const { status, body } = await api.request("POST", "/checks", { model: MNIST_SPEC.name, checkpoint: checkpoint.hash });
    expect(status).toBe(503);
    expect(body.message).toMatch(/job queue \(Redis at redis:\/\/127\.0\.0\.1:1\/?\) is unreachable, so no check was created/);
    expect(await cluster.withDatabase((prisma) => prisma.check.count())).toBe(0);
  }, 60_000);
});

describe("stopping the coordinator", () => {
  it("SIGTERM ends open event streams and the process, mid-check", async () => {
    cluster = await LocalCluster.create();
    const coordinator = await cluster.startCoordinator();
    const api = new TestApi(cluster.url, await cluster.key("submitter"));
    expect((await api.request("POST", "/models", SHARDED_SPEC)).status).toBe(201);
    const path = join(folder, "queued.safetensors");
    await writeTestCheckpoint(path, SHARDED_SPEC, { batchSize: 4, seed: 5 });
    const { body: checkpoint } = await api.upload(SHARDED_SPEC.name, path);
    // No worker: the check stays queued and its stream stays open.
    const { body } = await api.request("POST", "/checks", { model: SHARDED_SPEC.name, checkpoint: checkpoint.hash });
    const stream = await fetch(`${cluster.url}/api/v1/checks/${body.id}/events`, { headers: { authorization: `Bearer ${api.key}` } });
    const text = stream.text();
    coordinator.kill("SIGTERM");
    expect(await coordinator.exited).toBe("SIGTERM");
    expect(await text).toMatch(/^event: progress/);
  }, 60_000);
});

describe("a shard that fails for good", () => {
  it("fails its check, which says which shard and why", async () => {
    cluster = await LocalCluster.create();
    await cluster.startCoordinator();
    const api = new TestApi(cluster.url, await cluster.key("submitter"));
    expect((await api.request("POST", "/models", SHARDED_SPEC)).status).toBe(201);
    const path = join(folder, "small.safetensors");
    await writeTestCheckpoint(path, SHARDED_SPEC, { batchSize: 4, seed: 3 });
    const { body: checkpoint } = await api.upload(SHARDED_SPEC.name, path);
    // A worker whose key the coordinator refuses cannot download the checkpoint: a 401 is final.
    await cluster.startWorker({ GRADCHECK_KEY: "gck_not-a-key" });
    const { body } = await api.request("POST", "/checks", { model: SHARDED_SPEC.name, checkpoint: checkpoint.hash });
    const failed = await api.waitFor(body.id, 30_000);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/^shard 0 failed: .*401.*unknown or revoked/);
    expect(failed.report).toBeNull();
  }, 60_000);
});

describe("bad uploads", () => {
  it("are refused with a 4xx naming the problem, and leave nothing stored", async () => {
    cluster = await LocalCluster.create();
    await cluster.startCoordinator({ GRADCHECK_MAX_UPLOAD_BYTES: String(1_000_000) });
    const api = new TestApi(cluster.url, await cluster.key("submitter"));
    expect((await api.request("POST", "/models", SHARDED_SPEC)).status).toBe(201);
    const good = join(folder, "good.safetensors");
    await writeTestCheckpoint(good, SHARDED_SPEC, { batchSize: 4, seed: 1 });
    const bytes = new Uint8Array(await readFile(good));
    const other = join(folder, "other-model.safetensors");
    await writeTestCheckpoint(other, { ...SHARDED_SPEC, inputSize: 32 }, { batchSize: 2, seed: 1 });
    const nan = join(folder, "nan.safetensors");
    await writeCheckpointWithNaN(nan, SHARDED_SPEC, "W2");
    const hugeHeader = new Uint8Array(16);
    new DataView(hugeHeader.buffer).setBigUint64(0, 2n ** 40n, true);

    const cases: [string, Uint8Array, number, RegExp][] = [
      ["truncated", bytes.subarray(0, bytes.length - 100), 422, /truncated|past the end/],
      ["not safetensors", new TextEncoder().encode("this is not a checkpoint at all, just some text"), 422, /header length .* exceeds|safetensors/],
      ["shapes that do not fit", new Uint8Array(await readFile(other)), 422, /tensor "W1" has shape \[48,32\] but model "cluster-test-mlp" expects \[48,64\]/],
      ["NaN", new Uint8Array(await readFile(nan)), 422, /tensor "W2" has NaN at \[0,0\]/],
      ["oversized header", hugeHeader, 422, /header length 1099511627776 exceeds the 100000000-byte limit/],
      ["empty", new Uint8Array(0), 400, /empty/],
      ["larger than the limit", new Uint8Array(1_000_001), 413, /larger than the limit of 1000000 bytes/],
    ];
    for (const [what, body, status, message] of cases) {
      const answer = await api.request("POST", `/models/${SHARDED_SPEC.name}/checkpoints`, body);
      expect([what, answer.status]).toEqual([what, status]);
      expect(answer.body.message, what).toMatch(message);
      expect(answer.body.message, what).not.toContain(cluster.storageDir);
    }
    const wrongType = await api.request("POST", `/models/${SHARDED_SPEC.name}/checkpoints`, bytes, { "content-type": "text/plain" });
    expect(wrongType.status).toBe(400);
    const unknownModel = await api.request("POST", "/models/nope/checkpoints", bytes);
    expect(unknownModel.status).toBe(404);

    expect(await cluster.withDatabase((prisma) => prisma.checkpoint.count())).toBe(0);
    const leftovers = await readdir(join(cluster.storageDir, "incoming")).catch(() => []);
    expect(leftovers).toEqual([]);
    expect(await readdir(join(cluster.storageDir, "checkpoints")).catch(() => [])).toEqual([]);

    // The good file is then accepted, once.
    const accepted = await api.request("POST", `/models/${SHARDED_SPEC.name}/checkpoints`, bytes);
    expect(accepted.status).toBe(201);
    expect(accepted.body.hash).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect((await api.request("POST", `/models/${SHARDED_SPEC.name}/checkpoints`, bytes)).status).toBe(200);
  }, 60_000);
});
