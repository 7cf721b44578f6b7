import { fileURLToPath } from "node:url";
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { QueueName, workerName, type ShardJobData, type ShardJobResult } from "@gradcheck/contracts";
import type { WorkerBackend } from "./compute-backend.js";
import type { WorkerConfig } from "./config.js";
import type { ProcessorSettings } from "./shard.processor.js";

export type ShardWorker = Worker<ShardJobData, ShardJobResult>;

export interface RunningWorker {
  readonly worker: ShardWorker;
  /** Stops taking shards, lets the running ones finish (unless Redis is unreachable), then closes the connection. */
  close(): Promise<void>;
}

/** Consumes shard jobs, each computed in a sandboxed worker thread. */
export function startWorker(config: WorkerConfig, compute: WorkerBackend = { backend: "cpu", gpujsMode: null }): RunningWorker {
  // BullMQ requires maxRetriesPerRequest: null for a Worker's connection (blocking commands).
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const settings: ProcessorSettings = { server: config.server, key: config.key, cacheDir: config.cacheDir, debug: config.debug, ...compute };
  const worker: ShardWorker = new Worker(QueueName.shards, fileURLToPath(new URL("./shard.processor.js", import.meta.url)), {
    connection,
    prefix: config.queuePrefix,
    concurrency: config.concurrency,
    // Tells the coordinator how many processors this worker brings, for sizing shards.
    name: workerName(config.concurrency),
    // Sandboxed: shards are CPU-bound, and only a free main thread can renew job locks.
    useWorkerThreads: true,
    workerThreadsOptions: { workerData: settings },
    // Short locks, affordable because the main thread is never busy: a killed worker's
    // shards are back in the queue within seconds (measured in docs/cluster-notes.md).
    lockDuration: 5000,
    stalledInterval: 2000,
    maxStalledCount: 2,
  });
  // While Redis is unreachable every reconnection attempt fails alike: say so once.
  let lastError = "";
  worker.on("error", (error) => {
    if (error.message !== lastError) console.error(`gradcheck worker: ${error.message}`);
    lastError = error.message;
  });
  connection.on("ready", () => (lastError = ""));
  return {
    worker,
    async close() {
      // Without Redis, BullMQ's graceful close waits for a main loop that cannot move, and a
      // running shard could not save its result anyway (its job stalls and is retried).
      const connected = connection.status === "ready";
      await worker.close(!connected);
      // The Worker does not close a connection it was given.
      if (connected) await connection.quit();
      else connection.disconnect();
    },
  };
}
