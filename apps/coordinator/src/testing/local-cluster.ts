import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import type { ApiRole } from "@gradcheck/contracts";
import { ApiKeyRepository, createClient, type PrismaClient } from "@gradcheck/db";
import { createTestDatabase, type TestDatabase } from "@gradcheck/db/testing";
import { Redis } from "ioredis";

// A real cluster on this machine, for medium tests and the benchmark: the built coordinator and
// workers as processes, a database of its own on the local PostgreSQL, a key prefix of its own on Redis.

const COORDINATOR_MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));
const WORKER_MAIN = fileURLToPath(new URL("../../../worker/dist/main.js", import.meta.url));
export const REDIS_URL = process.env.GRADCHECK_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export interface ClusterProcess {
  readonly child: ChildProcess;
  /** what it printed so far, stdout and stderr */
  output(): string;
  /** resolves with the exit code (or the signal's name) */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

function startProcess(main: string, env: Record<string, string>): ClusterProcess {
  const child = spawn(process.execPath, [main], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  return {
    child,
    output: () => output,
    exited,
    kill: (signal = "SIGKILL") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class LocalCluster {
  readonly prefix = `gc-test-${randomBytes(4).toString("hex")}`;
  readonly processes: ClusterProcess[] = [];
  coordinator?: ClusterProcess;
  private constructor(
    readonly database: TestDatabase,
    readonly storageDir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<LocalCluster> {
    const database = await createTestDatabase();
    const storageDir = await mkdtemp(join(tmpdir(), "gradcheck-coordinator-"));
    return new LocalCluster(database, storageDir, await freePort());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  coordinatorEnv(): Record<string, string> {
    return {
      PORT: String(this.port),
      HOST: "127.0.0.1",
      DATABASE_URL: this.database.url,
      REDIS_URL: REDIS_URL,
      GRADCHECK_QUEUE_PREFIX: this.prefix,
      GRADCHECK_STORAGE_DIR: this.storageDir,
    };
  }

  /** Starts the coordinator and waits until it is ready (or only alive, when its Redis is meant to be down). */
  async startCoordinator(env: Record<string, string> = {}, until: "ready" | "live" = "ready"): Promise<ClusterProcess> {
    const coordinator = startProcess(COORDINATOR_MAIN, { ...this.coordinatorEnv(), ...env });
    this.processes.push(coordinator);
    this.coordinator = coordinator;
    // a coordinator boots in a second or two; on a CI machine running every package's tests at once, far slower
    const deadline = Date.now() + 90_000;
    for (;;) {
      const ready = await fetch(`${this.url}/api/v1/health${until === "ready" ? "/ready" : ""}`).then(
        (response) => response.ok,
        () => false,
      );
      if (ready) return coordinator;
      if (coordinator.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`the coordinator did not become ready:\n${coordinator.output()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Starts a worker process with a worker key; one processor unless told otherwise. */
  async startWorker(env: Record<string, string> = {}): Promise<ClusterProcess> {
    const cacheDir = await mkdtemp(join(tmpdir(), "gradcheck-worker-"));
    const worker = startProcess(WORKER_MAIN, {
      REDIS_URL: REDIS_URL,
      GRADCHECK_QUEUE_PREFIX: this.prefix,
      GRADCHECK_SERVER: this.url,
      GRADCHECK_KEY: await this.key("worker"),
      GRADCHECK_CACHE_DIR: cacheDir,
      GRADCHECK_WORKER_CONCURRENCY: "1",
      ...env,
    });
    void worker.exited.then(() => rm(cacheDir, { recursive: true, force: true }));
    this.processes.push(worker);
    return worker;
  }

  /** A new API key of a role, in the cluster's database. */
  async key(role: ApiRole): Promise<string> {
    return this.withDatabase(async (prisma) => (await new ApiKeyRepository(prisma).create(`test-${role}`, role)).key);
  }

  /** Runs a task with a client of the cluster's database. */
  async withDatabase<T>(task: (prisma: PrismaClient) => Promise<T>): Promise<T> {
    const prisma = await createClient({ url: this.database.url, migrate: true });
    try {
      return await task(prisma);
    } finally {
      await prisma.$disconnect();
    }
  }

  async destroy(): Promise<void> {
    for (const process of this.processes) process.kill("SIGKILL");
    await Promise.all(this.processes.map((process) => process.exited));
    const redis = new Redis(REDIS_URL);
    try {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${this.prefix}:*`, "COUNT", 1000);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== "0");
    } finally {
      redis.disconnect();
    }
    await rm(this.storageDir, { recursive: true, force: true });
    await this.database.drop();
  }
}
