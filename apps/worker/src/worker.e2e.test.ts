import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import type { FlowJob } from "bullmq";
import { describe, expect, it } from "vitest";
import {
  aggregateJobId,
  checkOptionsSchema,
  JobName,
  QueueName,
  shardJobId,
  type AggregateJobData,
  type CheckOptionsInput,
  type ShardJobData,
  type ShardJobResult,
} from "@gradcheck/contracts";
import {
  backendForInput,
  loadCheckInput,
  mergeShardResults,
  planCheck,
  planShards,
  runShard,
  shardResultFromBody,
  shardWork,
  type Shard,
  type ShardResult,
} from "@gradcheck/engine";
import type { ModelSpec } from "@gradcheck/models";
import { availableGpuJsModes, GPUJS_MODES } from "@gradcheck/compute/gpujs";
import { ScreenOutcome } from "@gradcheck/core";
import { jobOf, settledState, spawnWorker, waitFor, WORKER_MAIN, withCluster, type Cluster } from "./test-support/cluster.js";
import { testCheckpoint, type TestCheckpoint } from "./test-support/checkpoint.js";

const SMALL = {
  name: "t",
  inputSize: 6,
  layers: [
    { units: 5, activation: "tanh" },
    { units: 3, activation: "softmax" },
  ],
  loss: "cross-entropy",
};

/** About a second of work per 3000 coordinates on a small machine. */
const SLOW = {
  name: "slow",
  inputSize: 40,
  layers: [
    { units: 64, activation: "tanh" },
    { units: 64, activation: "tanh" },
    { units: 4, activation: "softmax" },
  ],
  loss: "cross-entropy",
};

interface CheckJob {
  readonly checkId: string;
  readonly hash: string;
  readonly spec: unknown;
  readonly options: CheckOptionsInput;
  readonly shards: readonly Shard[];
}

/** A check as the coordinator queues it: an aggregate parent over its shard children. */
function addCheck(cluster: Cluster, check: CheckJob, attempts = 3): Promise<unknown> {
  const items = check.shards[check.shards.length - 1].end;
  const flow: FlowJob = {
    name: JobName.aggregate,
    queueName: QueueName.aggregate,
    data: {
      checkId: check.checkId,
      shards: check.shards.length,
      shardSize: check.shards[0].end - check.shards[0].start,
      items,
    } satisfies AggregateJobData,
    opts: { jobId: aggregateJobId(check.checkId) },
    children: check.shards.map((shard) => ({
      name: JobName.shard,
      queueName: QueueName.shards,
      data: {
        checkId: check.checkId,
        checkpointHash: check.hash,
        spec: check.spec,
        options: check.options as ShardJobData["options"],
        shard,
      } satisfies ShardJobData,
      opts: { jobId: shardJobId(check.checkId, shard.index), attempts, backoff: { type: "fixed", delay: 50 }, failParentOnFailure: true },
    })),
  };
  return cluster.flows.add(flow);
}

/** Serves the checkpoint and writes it where the test reads it back for the local run. */
async function publish(cluster: Cluster, checkpoint: TestCheckpoint): Promise<string> {
  cluster.server.files.set(checkpoint.hash, checkpoint.bytes);
  const path = join(cluster.dir, `${checkpoint.hash}.safetensors`);
  await writeFile(path, checkpoint.bytes);
  return path;
}

/** The same shards computed in this process, one backend for all, as a local run does. */
async function localResults(path: string, spec: ModelSpec, options: CheckOptionsInput, shards: readonly Shard[]) {
  const input = await loadCheckInput(path, spec);
  const plan = planCheck(input, checkOptionsSchema.parse(options));
  const backend = backendForInput(input);
  return mergeShardResults(
    plan.items,
    shards.map((shard) => runShard(backend, plan.layout, shard, shardWork(plan, shard), plan.settings)),
  );
}

async function planItems(path: string, spec: ModelSpec, options: CheckOptionsInput): Promise<number> {
  return planCheck(await loadCheckInput(path, spec), checkOptionsSchema.parse(options)).items;
}

/** The results the worker handed in for these job return values, as aggregation decodes them. */
function handedIn(cluster: Cluster, checkId: string, values: readonly ShardJobResult[]): ShardResult[] {
  return values.map((value) => {
    const stored = cluster.server.results.get(`${checkId}/${value.shard.index}`);
    if (!stored) throw new Error(`shard ${value.shard.index} of ${checkId} was not handed in`);
    expect([stored.start, stored.end]).toEqual([value.shard.start, value.shard.end]);
    return shardResultFromBody(value, stored.body);
  });
}

const bytes = (array: Float64Array | Uint8Array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength);

describe("worker process", { timeout: 60_000 }, () => {
  it("computes a flow's shards bit for bit like a local run, then exits 0 on SIGTERM", async () => {
    await withCluster(async (cluster) => {
      const worker = await cluster.startProcess();
      const checkpoint = testCheckpoint(SMALL, 1);
      const path = await publish(cluster, checkpoint);
      const checks = [
        { checkId: "full", options: { mode: "full", richardson: true }, shardSize: 7 },
        { checkId: "directional", options: { mode: "directional", directions: 6, seed: 3 }, shardSize: 5 },
      ] as const;
      const planned = await Promise.all(
        checks.map(async (check) => {
          const shards = planShards(await planItems(path, checkpoint.spec, check.options), check.shardSize);
          await addCheck(cluster, { ...check, hash: checkpoint.hash, spec: SMALL, shards });
          return { ...check, shards };
        }),
      );

      for (const check of planned) {
        // With every child done and no aggregate worker, the parent moves on to waiting.
        await settledState(cluster.aggregate, aggregateJobId(check.checkId), ["waiting"], worker.output);
        const parent = await jobOf(cluster.aggregate, aggregateJobId(check.checkId));
        expect(parent.deferredFailure).toBeUndefined();
        const values = Object.values(await parent.getChildrenValues<ShardJobResult>());
        expect(values).toHaveLength(check.shards.length);
        const remote = mergeShardResults(check.shards[check.shards.length - 1].end, handedIn(cluster, check.checkId, values));
        const local = await localResults(path, checkpoint.spec, check.options, check.shards);
        expect(bytes(remote.numeric)).toEqual(bytes(local.numeric));
        expect(bytes(remote.status)).toEqual(bytes(local.status));
        for (const value of values) expect(value.seconds).toBeGreaterThanOrEqual(0);
      }
      // Downloaded once per processor thread at most: later shards find it in the cache.
      const downloads = cluster.server.requests.filter((request) => request.startsWith("GET "));
      expect(new Set(downloads)).toEqual(new Set([`GET /api/v1/checkpoints/${checkpoint.hash}/content`]));
      expect(downloads.length).toBeLessThanOrEqual(2);
      // each shard's results handed in once
      const shards = planned.reduce((sum, check) => sum + check.shards.length, 0);
      expect(cluster.server.requests.filter((request) => request.startsWith("PUT "))).toHaveLength(shards);
      expect(worker.output()).toMatch(/check full shard 0: done in \d+\.\d\d s/);

      worker.child.kill("SIGTERM");
      expect(await worker.exited()).toEqual({ code: 0, signal: null });
    });
  });

  it("screens on gpu.js and confirms in float64 when started with the gpujs backend", async () => {
    await withCluster(async (cluster) => {
      const worker = await cluster.startProcess({ env: { GRADCHECK_BACKEND: "gpujs", GRADCHECK_GPUJS_MODE: "webasm" } });
      expect(worker.output()).toMatch(/backend gpujs \(webasm, float32 screen, float64 confirmation\)/);
      const checkpoint = testCheckpoint(SMALL, 1);
      const path = await publish(cluster, checkpoint);
      const options = { mode: "full" } as const;
      const shards = planShards(await planItems(path, checkpoint.spec, options), 8);
      await addCheck(cluster, { checkId: "screened", options, hash: checkpoint.hash, spec: SMALL, shards });
      await settledState(cluster.aggregate, aggregateJobId("screened"), ["waiting"], worker.output);
      const parent = await jobOf(cluster.aggregate, aggregateJobId("screened"));
      const values = Object.values(await parent.getChildrenValues<ShardJobResult>());
      expect(new Set(values.map((value) => JSON.stringify(value.backend)))).toEqual(new Set([JSON.stringify({ name: "gpujs", mode: "webasm", precision: "float32" })]));
      const remote = mergeShardResults(shards[shards.length - 1].end, handedIn(cluster, "screened", values));
      const local = await localResults(path, checkpoint.spec, options, shards);
      expect(bytes(remote.status)).toEqual(bytes(local.status));
      // SMALL's tensors are under the sample's minimum: every coordinate is confirmed in float64
      expect(remote.screen!.every((outcome) => outcome === ScreenOutcome.flagged || outcome === ScreenOutcome.sampled)).toBe(true);
      expect(bytes(remote.numeric)).toEqual(bytes(local.numeric));
    });
  });

  it("refuses to start on a gpu.js mode that does not work here, or an unknown backend", () => {
    const missing = GPUJS_MODES.find((mode) => !availableGpuJsModes().includes(mode));
    for (const [args, message] of [
      ...(missing ? [[["--backend", "gpujs", "--gpujs-mode", missing], new RegExp(`gpu\\.js mode "${missing}" does not work here; available: .*cpu`)] as const] : []),
      [["--backend", "tpu"], /--backend must be one of cpu, gpujs, auto, got "tpu"/],
      [["--bogus"], /Unknown option '--bogus'/],
    ] as const) {
      const run = spawnSync(process.execPath, [WORKER_MAIN, ...args], { env: { PATH: process.env.PATH, GRADCHECK_KEY: "k" }, encoding: "utf8" });
      expect([run.status, run.stderr]).toEqual([2, expect.stringMatching(message)]);
    }
    const help = spawnSync(process.execPath, [WORKER_MAIN, "--help"], { env: { PATH: process.env.PATH }, encoding: "utf8" });
    expect([help.status, help.stdout]).toEqual([0, expect.stringContaining("--backend")]);
  });

  it("fails input no retry can fix at once, and waits out a transient download failure", async () => {
    await withCluster(async (cluster) => {
      const worker = await cluster.startProcess();
      const checkpoint = testCheckpoint(SMALL, 2);
      cluster.server.files.set(checkpoint.hash, checkpoint.bytes);
      const retried = testCheckpoint(SMALL, 3);
      cluster.server.files.set(retried.hash, retried.bytes);
      cluster.server.failures.set(retried.hash, 1);
      const shards = [{ index: 0, start: 0, end: 10 }];
      const options = { mode: "full" } as const;
      const unknownHash = "0".repeat(64);
      const failing = [
        { checkId: "unknown-checkpoint", hash: unknownHash, spec: SMALL, reason: `answered 404 Not Found: no checkpoint ${unknownHash}` },
        {
          checkId: "bad-spec",
          hash: checkpoint.hash,
          spec: { ...SMALL, layers: [{ units: 5, activation: "softmax" }, SMALL.layers[1]] },
          reason: "model spec: layers[0].activation: softmax is only allowed on the output layer",
        },
        {
          checkId: "bad-options",
          hash: checkpoint.hash,
          spec: SMALL,
          options: { mode: "sample" as const, samples: 0 },
          reason: `shard job ${shardJobId("bad-options", 0)}: invalid data: options.samples: `,
        },
        {
          checkId: "mismatch",
          hash: checkpoint.hash,
          spec: { ...SMALL, inputSize: 7 },
          reason: `checkpoint ${checkpoint.hash}: tensor "W1" has shape [5,6] but model "t" expects [5,7]`,
        },
        {
          checkId: "outside-plan",
          hash: checkpoint.hash,
          spec: SMALL,
          shards: [{ index: 9, start: 50, end: 60 }],
          reason: "shard 9 [50, 60) does not fit a plan of 53 items",
        },
      ];
      for (const check of failing) await addCheck(cluster, { shards, options, ...check });
      await addCheck(cluster, { checkId: "retried", hash: retried.hash, spec: SMALL, options, shards });

      for (const check of failing) {
        const id = shardJobId(check.checkId, check.shards?.[0].index ?? 0);
        await settledState(cluster.shards, id, ["failed", "completed"], worker.output);
        const job = await jobOf(cluster.shards, id);
        expect(job.failedReason).toContain(check.reason);
        expect(job.attemptsMade).toBe(1);
        // bullmq 6.7: failParentOnFailure moves the parent to waiting with a deferred failure;
        // an aggregate worker that takes it fails it without calling its processor.
        await settledState(cluster.aggregate, aggregateJobId(check.checkId), ["waiting"], worker.output);
        expect((await jobOf(cluster.aggregate, aggregateJobId(check.checkId))).deferredFailure).toBe(
          `child ${cluster.prefix}:${QueueName.shards}:${id} failed`,
        );
      }

      const id = shardJobId("retried", 0);
      expect(await settledState(cluster.shards, id, ["failed", "completed"], worker.output)).toBe("completed");
      // The download was retried inside the shard: a busy or restarting coordinator uses up no attempt.
      expect((await jobOf(cluster.shards, id)).attemptsMade).toBe(1);
      expect(cluster.server.failures.get(retried.hash)).toBe(0);
    });
  });

  it("retries handing in results while the coordinator is busy, and drops those of a finished check", async () => {
    await withCluster(async (cluster) => {
      const worker = await cluster.startProcess({ env: { GRADCHECK_WORKER_CONCURRENCY: "1" } });
      const checkpoint = testCheckpoint(SMALL, 5);
      cluster.server.files.set(checkpoint.hash, checkpoint.bytes);
      const shards = [{ index: 0, start: 0, end: 10 }];
      const options = { mode: "full" } as const;
      cluster.server.resultFailures = 1;
      await addCheck(cluster, { checkId: "busy", hash: checkpoint.hash, spec: SMALL, options, shards });
      const busy = shardJobId("busy", 0);
      expect(await settledState(cluster.shards, busy, ["failed", "completed"], worker.output)).toBe("completed");
      // retried inside the shard, using up no attempt
      expect((await jobOf(cluster.shards, busy)).attemptsMade).toBe(1);
      expect(cluster.server.resultFailures).toBe(0);
      expect(handedIn(cluster, "busy", [(await jobOf(cluster.shards, busy)).returnvalue as ShardJobResult])[0].numeric).toHaveLength(10);

      cluster.server.finished.add("gone");
      await addCheck(cluster, { checkId: "gone", hash: checkpoint.hash, spec: SMALL, options, shards });
      expect(await settledState(cluster.shards, shardJobId("gone", 0), ["failed", "completed"], worker.output)).toBe("completed");
      expect(cluster.server.results.has("gone/0")).toBe(false);
    });
  });

  it("lets a running shard finish on SIGTERM, then exits 0", async () => {
    await withCluster(async (cluster) => {
      const worker = await cluster.startProcess();
      const checkpoint = testCheckpoint(SLOW, 4, 64);
      cluster.server.files.set(checkpoint.hash, checkpoint.bytes);
      const shard = { index: 0, start: 0, end: 3000 };
      await addCheck(cluster, { checkId: "slow", hash: checkpoint.hash, spec: SLOW, options: { mode: "full" }, shards: [shard] });
      const id = shardJobId("slow", 0);
      await settledState(cluster.shards, id, ["active", "completed"], worker.output);

      worker.child.kill("SIGTERM");
      expect(await worker.exited()).toEqual({ code: 0, signal: null });
      expect(await cluster.shards.getJobState(id)).toBe("completed");
      const [result] = handedIn(cluster, "slow", [(await jobOf(cluster.shards, id)).returnvalue as ShardJobResult]);
      expect(result.shard).toEqual(shard);
      expect(result.numeric).toHaveLength(3000);
    });
  });

  it("exits when the parent that forked it disconnects", async () => {
    await withCluster(async (cluster) => {
      const worker = await cluster.startProcess({ ipc: true });
      worker.child.disconnect();
      expect(await worker.exited()).toEqual({ code: 0, signal: null });
      expect(worker.output()).toContain("parent disconnected, finishing running shards");
    });
  });

  it("exits 0 on SIGTERM while Redis is unreachable, having said so once", async () => {
    const worker = spawnWorker({ REDIS_URL: `redis://127.0.0.1:${await closedPort()}`, GRADCHECK_KEY: "k", GRADCHECK_CACHE_DIR: "unused" });
    try {
      await waitFor(() => worker.output().includes("ECONNREFUSED"), "a connection error", worker.output);
      worker.child.kill("SIGTERM");
      expect(await worker.exited()).toEqual({ code: 0, signal: null });
      expect(worker.output().match(/ECONNREFUSED/g)).toHaveLength(1);
    } finally {
      worker.child.kill("SIGKILL");
    }
  });
});

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
