import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FlowProducer, Job, Queue } from "bullmq";
import { Redis } from "ioredis";
import { QueueName } from "@gradcheck/contracts";
import { startCheckpointServer, type CheckpointServer } from "./checkpoint-server.js";

export const REDIS_URL = "redis://127.0.0.1:6379";
const KEY = "worker-test-key";
export const WORKER_MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

/** A worker process against the real Redis, a test coordinator for checkpoints, and the producer side. */
export interface Cluster {
  readonly prefix: string;
  readonly dir: string;
  readonly server: CheckpointServer;
  readonly flows: FlowProducer;
  readonly shards: Queue;
  readonly aggregate: Queue;
  /** the worker process, started by startProcess */
  process?: WorkerProcess;
  /** starts the worker with the test settings, `env` added on top */
  startProcess(options?: { ipc?: boolean; env?: Record<string, string> }): Promise<WorkerProcess>;
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far */
  output(): string;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `body` with a fresh cluster under its own key prefix (`gc-test-<random>`), and always
 * cleans up: the process killed, the queues obliterated, every `<prefix>:*` key deleted.
 */
export async function withCluster(body: (cluster: Cluster) => Promise<void>): Promise<void> {
  const prefix = `gc-test-${randomBytes(6).toString("hex")}`;
  const dir = await mkdtemp(join(tmpdir(), "gradcheck-worker-test-"));
  const server = await startCheckpointServer(KEY);
  const connection = { url: REDIS_URL };
  const flows = new FlowProducer({ connection, prefix });
  const shards = new Queue(QueueName.shards, { connection, prefix });
  const aggregate = new Queue(QueueName.aggregate, { connection, prefix });
  const logError = (error: Error) => console.error(`test ${prefix}: ${error.message}`);
  flows.on("error", logError);
  shards.on("error", logError);
  aggregate.on("error", logError);
  const cluster: Cluster = {
    prefix,
    dir,
    server,
    flows,
    shards,
    aggregate,
    async startProcess({ ipc = false, env = {} }: { ipc?: boolean; env?: Record<string, string> } = {}) {
      cluster.process = spawnWorker({
        REDIS_URL,
        GRADCHECK_QUEUE_PREFIX: prefix,
        GRADCHECK_SERVER: server.url,
        GRADCHECK_KEY: KEY,
        GRADCHECK_CACHE_DIR: join(dir, "cache"),
        GRADCHECK_WORKER_CONCURRENCY: "2",
        ...env,
      }, ipc);
      await waitFor(() => cluster.process!.output().includes(`processors on ${QueueName.shards}`), "the worker's start line", cluster.process.output);
      return cluster.process;
    },
  };
  try {
    await body(cluster);
  } finally {
    const child = cluster.process?.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await cluster.process!.exited();
    }
    await shards.obliterate({ force: true });
    await aggregate.obliterate({ force: true });
    await Promise.all([flows.close(), shards.close(), aggregate.close()]);
    await deleteKeys(prefix);
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Starts `node dist/main.js` with only PATH and `env` for environment. */
export function spawnWorker(env: Record<string, string>, ipc = false): WorkerProcess {
  if (!existsSync(WORKER_MAIN)) throw new Error(`${WORKER_MAIN} is missing: run \`pnpm build\` in apps/worker before the tests`);
  const child = spawn(process.execPath, [WORKER_MAIN], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited: () => exit };
}

/** Polls until `done()` holds; fails after `timeoutMs` with what the worker printed. */
export async function waitFor(done: () => boolean | Promise<boolean>, what: string, output: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; worker output:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A job's state, once it is one of `states`. */
export async function settledState(queue: Queue, jobId: string, states: readonly string[], output: () => string): Promise<string> {
  let state = "";
  await waitFor(async () => states.includes((state = await queue.getJobState(jobId))), `job ${jobId} to be ${states.join(" or ")}`, () =>
    [`(last seen ${state})`, output()].join("\n"),
  );
  return state;
}

export async function jobOf(queue: Queue, jobId: string): Promise<Job> {
  const job = await Job.fromId(queue, jobId);
  if (!job) throw new Error(`job ${jobId} is not in ${queue.name}`);
  return job;
}

async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    await redis.quit();
  }
}
