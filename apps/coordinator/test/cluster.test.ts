import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { checkOptionsSchema, QueueName, type CheckOptionsInput, type CheckState } from "@gradcheck/contracts";
import { Queue } from "bullmq";
import { loadCheckInput, runLocalCheck } from "@gradcheck/engine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canonicalFindings, TestApi } from "../src/test-support/api.js";
import { MNIST_SPEC, SHARDED_SPEC, writeTestCheckpoint } from "../src/test-support/checkpoints.js";
import { LocalCluster, REDIS_URL } from "../src/testing/local-cluster.js";

// Checks through a real cluster (coordinator and worker processes, PostgreSQL, Redis) give the
// local CLI's report, bit for bit.

let cluster: LocalCluster;
let api: TestApi;
let folder: string;
const checkpoints: Record<string, string> = {};

async function localReport(path: string, spec: typeof MNIST_SPEC, options: CheckOptionsInput) {
  const input = await loadCheckInput(path, spec);
  return runLocalCheck(input, { ...checkOptionsSchema.parse(options), threads: 1 });
}

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function submit(spec: typeof MNIST_SPEC, path: string, options: CheckOptionsInput): Promise<{ status: number; state: CheckState }> {
  const hash = createHash("sha256").update(await readFile(path)).digest("hex");
  const { status, body } = await api.request("POST", "/checks", { model: spec.name, checkpoint: hash, options });
  return { status, state: body as CheckState };
}

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "gradcheck-cluster-test-"));
  cluster = await LocalCluster.create();
  await cluster.startCoordinator();
  api = new TestApi(cluster.url, await cluster.key("submitter"));
  for (const spec of [MNIST_SPEC, SHARDED_SPEC]) expect((await api.request("POST", "/models", spec)).status).toBe(201);
  checkpoints.mnist = join(folder, "mnist.safetensors");
  checkpoints.mnistFaulty = join(folder, "mnist-faulty.safetensors");
  checkpoints.faulty = join(folder, "faulty.safetensors");
  await writeTestCheckpoint(checkpoints.mnist, MNIST_SPEC, { batchSize: 64, seed: 1, step: 100 });
  await writeTestCheckpoint(checkpoints.mnistFaulty, MNIST_SPEC, { batchSize: 64, seed: 4, step: 300, faulty: true });
  await writeTestCheckpoint(checkpoints.faulty, SHARDED_SPEC, { batchSize: 16, seed: 2, step: 200, faulty: true });
  expect((await api.upload(MNIST_SPEC.name, checkpoints.mnist)).status).toBe(201);
  expect((await api.upload(MNIST_SPEC.name, checkpoints.mnistFaulty)).status).toBe(201);
  expect((await api.upload(SHARDED_SPEC.name, checkpoints.faulty)).status).toBe(201);
}, 300_000);

afterAll(async () => {
  await cluster?.destroy();
  await rm(folder, { recursive: true, force: true });
});

describe("a check through the cluster", () => {
  it("with one worker, matches the local report bit for bit", async () => {
    const worker = await cluster.startWorker();
    const options = { mode: "full" } as const;
    const { status, state } = await submit(MNIST_SPEC, checkpoints.mnist, options);
    expect(status).toBe(202);
    expect(state.status).toBe("queued");
    expect(state.progress.shardsTotal).toBeGreaterThan(1);
    const done = await api.waitFor(state.id);
    expect(done.status).toBe("done");
    expect(done.progress.shardsDone).toBe(done.progress.shardsTotal);
    expect(canonicalFindings(done.report)).toBe(canonicalFindings(await localReport(checkpoints.mnist, MNIST_SPEC, options)));
    // Finished shard jobs leave Redis; their results are in the database.
    const shards = new Queue(QueueName.shards, { connection: { url: REDIS_URL }, prefix: cluster.prefix });
    expect(await shards.getJobCounts("completed", "failed", "waiting", "active")).toEqual({ completed: 0, failed: 0, waiting: 0, active: 0 });
    await shards.close();
    worker.kill("SIGTERM");
    expect(await worker.exited).toBe(0);
  }, 300_000);

  it("with two workers, matches the local report bit for bit, both workers taking shards", async () => {
    const workers = [await cluster.startWorker(), await cluster.startWorker()];
    const options = { mode: "full" } as const;
    const { status, state } = await submit(MNIST_SPEC, checkpoints.mnistFaulty, options);
    expect(status).toBe(202);
    const done = await api.waitFor(state.id);
    expect(done.status).toBe("done");
    expect(done.report?.verdict).toBe("fail");
    expect(canonicalFindings(done.report)).toBe(canonicalFindings(await localReport(checkpoints.mnistFaulty, MNIST_SPEC, options)));
    // each worker logs structured JSON lines, one per shard it did
    for (const worker of workers) {
      const lines = worker.output().trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toContainEqual(expect.objectContaining({ name: "gradcheck-worker", checkId: state.id, shard: expect.any(Number), seconds: expect.any(Number), msg: expect.stringContaining(`check ${state.id} shard`) }));
    }

    const sample = { mode: "sample", samples: 4000, seed: 3 } as const;
    const sampled = await api.waitFor((await submit(MNIST_SPEC, checkpoints.mnist, sample)).state.id);
    expect(canonicalFindings(sampled.report)).toBe(canonicalFindings(await localReport(checkpoints.mnist, MNIST_SPEC, sample)));

    const faulty = await submit(SHARDED_SPEC, checkpoints.faulty, { mode: "directional", directions: 6, seed: 5 });
    const diagnosed = await api.waitFor(faulty.state.id);
    expect(diagnosed.report?.verdict).toBe("fail");
    expect(diagnosed.report?.diagnosis.map((finding) => finding.code)).toContain("scale");
    expect(canonicalFindings(diagnosed.report)).toBe(
      canonicalFindings(await localReport(checkpoints.faulty, SHARDED_SPEC, { mode: "directional", directions: 6, seed: 5 })),
    );
    for (const worker of workers) worker.kill("SIGTERM");
    expect(await Promise.all(workers.map((worker) => worker.exited))).toEqual([0, 0]);
  }, 300_000);

  it("with a gpujs worker, matches the local gpujs report bit for bit and records the backend", async () => {
    const worker = await cluster.startWorker({ GRADCHECK_BACKEND: "gpujs", GRADCHECK_GPUJS_MODE: "webasm" });
    const options = { mode: "full", seed: 4 } as const;
    const { state } = await submit(SHARDED_SPEC, checkpoints.faulty, options);
    expect(state.backend).toBe("pending");
    const done = await api.waitFor(state.id);
    expect(done.backend).toBe("gpujs:webasm");
    const input = await loadCheckInput(checkpoints.faulty, SHARDED_SPEC);
    const local = await runLocalCheck(input, { ...checkOptionsSchema.parse(options), threads: 1, backend: "gpujs", gpujsMode: "webasm" });
    expect(canonicalFindings(done.report)).toBe(canonicalFindings(local));
    expect(done.report?.compute.screen?.unconfirmed).toBeGreaterThan(0);
    const cpu = await localReport(checkpoints.faulty, SHARDED_SPEC, options);
    expect([done.report?.verdict, done.report?.diagnosis.map((finding) => finding.code)]).toEqual([cpu.verdict, cpu.diagnosis.map((finding) => finding.code)]);
    worker.kill("SIGTERM");
    expect(await worker.exited).toBe(0);
  }, 300_000);

  it("returns the existing check when the same checkpoint and options come again", async () => {
    const first = await submit(MNIST_SPEC, checkpoints.mnist, { mode: "full" });
    const again = await submit(MNIST_SPEC, checkpoints.mnist, { mode: "full", seed: 9, samples: 7 });
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.state.id).toBe(first.state.id);
    expect(again.state.status).toBe("done");
  });

  it("streams progress as Server-Sent Events, ending with the finished state", async () => {
    const { state } = await submit(MNIST_SPEC, checkpoints.mnist, { mode: "full" });
    const response = await fetch(`${cluster.url}/api/v1/checks/${state.id}/events`, { headers: { authorization: `Bearer ${api.key}` } });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const text = await response.text();
    const events = text.trim().split("\n\n").map((block) => ({ event: /^event: (.*)$/m.exec(block)?.[1], data: JSON.parse(/^data: (.*)$/m.exec(block)![1]) }));
    expect(events.at(-1)?.event).toBe("end");
    expect(events.at(-1)?.data.report.verdict).toBe("pass");
  });

  it("keeps the history of a model by training step, with per-tensor figures", async () => {
    const { status, body } = await api.request("GET", `/models/${MNIST_SPEC.name}/history`);
    expect(status).toBe(200);
    expect(body.map((entry: { step: number; verdict: string }) => [entry.step, entry.verdict])).toEqual([
      [100, "pass"],
      [100, "pass"],
      [300, "fail"],
    ]);
    expect(body[0].tensors.map((tensor: { name: string }) => tensor.name)).toEqual(["W1", "b1", "W2", "b2", "W3", "b3"]);
  });

  it("cancels a queued check, which then never runs; a finished one cannot be cancelled", async () => {
    // No worker is running now: the check stays queued.
    const { status, state } = await submit(MNIST_SPEC, checkpoints.mnist, { mode: "full", top: 9 });
    expect(status).toBe(202);
    const cancelled = await api.request("POST", `/checks/${state.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe("cancelled");
    const again = await api.request("POST", `/checks/${state.id}/cancel`);
    expect(again.status).toBe(409);
    const worker = await cluster.startWorker();
    const shards = new Queue(QueueName.shards, { connection: { url: REDIS_URL }, prefix: cluster.prefix });
    expect(await shards.getJobCounts("waiting", "active")).toEqual({ waiting: 0, active: 0 });
    await shards.close();
    expect((await api.request("GET", `/checks/${state.id}`)).body).toMatchObject({ status: "cancelled", report: null });
    // A check of the same options may be submitted anew.
    const fresh = await submit(MNIST_SPEC, checkpoints.mnist, { mode: "full", top: 9 });
    expect(fresh.status).toBe(202);
    expect(fresh.state.id).not.toBe(state.id);
    expect((await api.waitFor(fresh.state.id)).status).toBe("done");
    worker.kill("SIGTERM");
    await worker.exited;
  }, 300_000);

  it("puts a check in the run and at the step submitted, a history of its own, listed with filters", async () => {
    const worker = await cluster.startWorker();
    const hash = createHash("sha256").update(await readFile(checkpoints.mnist)).digest("hex");
    const body = { model: MNIST_SPEC.name, checkpoint: hash, options: { mode: "sample", samples: 4 }, run: "sweep-2", step: 1500 };
    const submitted = await api.request("POST", "/checks", body);
    expect([submitted.status, submitted.body.run, submitted.body.step]).toEqual([202, "sweep-2", 1500]);
    // the same checkpoint and options in another run, or at another step, is another check
    const otherRun = await api.request("POST", "/checks", { ...body, run: "sweep-3" });
    expect(otherRun.status).toBe(202);
    expect((await api.request("POST", "/checks", body)).body.id).toBe(submitted.body.id);
    const done = await api.waitFor(submitted.body.id);
    expect(done.report?.step).toBe(1500);
    // a submission that names no file (the CLI sends one) has none in its provenance
    expect(done.report?.provenance).toMatchObject({ run: "sweep-2", checkpoint: { file: null, sha256: hash } });
    await api.waitFor(otherRun.body.id);

    const history = (query: string) => api.request("GET", `/models/${MNIST_SPEC.name}/history${query}`);
    const sweep = await history("?run=sweep-2");
    expect(sweep.body.map((entry: { run: string; step: number; mode: string }) => [entry.run, entry.step, entry.mode])).toEqual([["sweep-2", 1500, "sample"]]);
    const failing = await history("?verdict=fail");
    expect(failing.body.map((entry: { run: string; step: number }) => [entry.run, entry.step])).toEqual([["default", 300]]);
    expect((await history("?run=sweep-3&mode=full")).body).toEqual([]);
    expect((await history("?stepFrom=1000&stepTo=2000")).body.map((entry: { run: string }) => entry.run)).toEqual(["sweep-2", "sweep-3"]);
    expect((await history("?since=2999-01-01T00:00:00Z")).body).toEqual([]);
    // a page at a time, each page's Link header naming the next
    const whole = (await history("")).body.map((entry: { checkId: string }) => entry.checkId);
    const paged: string[] = [];
    let next: string | null = `${cluster.url}/api/v1/models/${MNIST_SPEC.name}/history?limit=2`;
    while (next !== null) {
      const page: Response = await fetch(next, { headers: { authorization: `Bearer ${api.key}` } });
      paged.push(...((await page.json()) as { checkId: string }[]).map((entry) => entry.checkId));
      const link = /^<([^>]+)>; rel="next"$/.exec(page.headers.get("link") ?? "");
      next = link ? `${cluster.url}${link[1]}` : null;
    }
    expect(paged).toEqual(whole);
    expect((await history("?cursor=abc")).status).toBe(400);
    const bad = await history("?verdict=maybe&colour=red");
    expect([bad.status, bad.body.message]).toEqual([400, expect.stringMatching(/^invalid request query: verdict: .*; query: Unrecognized key: "colour"/)]);
    worker.kill("SIGTERM");
    await worker.exited;
  }, 300_000);

  it("lists every check, newest first, a page at a time, with filters; a cursor it did not give is a 400", async () => {
    const pages: { id: string; run: string; status: string }[][] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { checks: { id: string; run: string; status: string }[]; nextCursor: string | null } } = await api.request("GET", `/checks?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      pages.push(page.body.checks);
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    const listed = pages.flat();
    expect(new Set(listed.map((check) => check.id)).size).toBe(listed.length);
    expect(listed.length).toBeGreaterThanOrEqual(8);
    expect(pages.slice(0, -1).every((page) => page.length === 2)).toBe(true);
    const cancelled = await api.request("GET", "/checks?status=cancelled");
    expect(cancelled.body.checks.map((check: { status: string }) => check.status)).toEqual(["cancelled"]);
    const sweeps = await api.request("GET", `/checks?model=${MNIST_SPEC.name}&run=sweep-3&stepFrom=1000&stepTo=2000`);
    expect(sweeps.body.checks.map((check: { run: string; step: number }) => [check.run, check.step])).toEqual([["sweep-3", 1500]]);
    const forged = await api.request("GET", "/checks?cursor=bm90LWEtY3Vyc29y");
    expect([forged.status, forged.body.message]).toEqual([400, expect.stringContaining("is not one a listing gave")]);
    expect((await api.request("GET", "/checks?limit=0")).status).toBe(400);
  });

  it("serves Prometheus metrics without a key: checks by status, queue jobs, shard durations", async () => {
    const response = await fetch(`${cluster.url}/api/v1/metrics`);
    expect([response.status, response.headers.get("content-type")]).toEqual([200, expect.stringContaining("text/plain")]);
    const text = await response.text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);
    const { body } = await api.request("GET", "/checks?status=done&limit=500");
    expect(value('gradcheck_checks{status="done"}')).toBe(body.checks.length);
    expect(value('gradcheck_checks{status="cancelled"}')).toBe(1);
    expect(value('gradcheck_queue_jobs{queue="shards",state="active"}')).toBe(0);
    expect(value("gradcheck_shard_duration_seconds_count")).toBeGreaterThan(0);
    expect(value("gradcheck_checks_submitted_total")).toBeGreaterThanOrEqual(body.checks.length);
    expect(text).toMatch(/^gradcheck_coordinator_process_cpu_seconds_total /m);
    // and logs JSON lines
    const logged = cluster.processes[0].output().trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toContainEqual(expect.objectContaining({ name: "gradcheck-coordinator", context: "Coordinator", msg: expect.stringContaining("listening on http://") }));
  });

  it("checks under the spec version submitted, though a newer one is registered meanwhile", async () => {
    const hash = createHash("sha256").update(await readFile(checkpoints.mnist)).digest("hex");
    const options = { mode: "sample", samples: 3, seed: 11 } as const;
    const older = await api.request("POST", "/checks", { model: MNIST_SPEC.name, checkpoint: hash, options, specVersion: 1 });
    expect(older.status).toBe(202);
    // no worker yet: the check waits while the model gets another λ
    const changed = await api.request("POST", "/models", { ...MNIST_SPEC, l2: MNIST_SPEC.l2 + 0.25 });
    expect([changed.status, changed.body.version]).toEqual([201, 2]);
    const newer = await api.request("POST", "/checks", { model: MNIST_SPEC.name, checkpoint: hash, options });
    expect([newer.status, newer.body.specVersion]).toEqual([202, 2]);
    const metricsPort = await freePort();
    const worker = await cluster.startWorker({ GRADCHECK_METRICS_PORT: String(metricsPort) });
    const [first, second] = [await api.waitFor(older.body.id), await api.waitFor(newer.body.id)];
    // the worker's own metrics count the shards it did
    const workerMetrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(Number(/^gradcheck_worker_shards_total\{outcome="completed"\} (\d+)$/m.exec(workerMetrics)?.[1])).toBeGreaterThanOrEqual(2);
    expect(workerMetrics).toMatch(/^gradcheck_worker_shard_duration_seconds_count \d+$/m);
    expect([first.specVersion, second.specVersion]).toEqual([1, 2]);
    expect(canonicalFindings(first.report)).toBe(canonicalFindings(await localReport(checkpoints.mnist, MNIST_SPEC, options)));
    expect(second.report?.cost).toBeGreaterThan(first.report!.cost);
    const { body } = await api.request("GET", `/models/${MNIST_SPEC.name}/history?mode=sample&run=default`);
    expect(body.filter((entry: { checkId: string }) => [first.id, second.id].includes(entry.checkId)).map((entry: { specVersion: number }) => entry.specVersion).sort()).toEqual([1, 2]);
    worker.kill("SIGTERM");
    await worker.exited;
  }, 300_000);
});
