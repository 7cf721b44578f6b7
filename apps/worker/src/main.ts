import { QueueName } from "@gradcheck/contracts";
import { ConfigError, readWorkerConfig, redactedRedisUrl, type WorkerConfig } from "./config.js";
import { startWorker } from "./worker.js";

let config: WorkerConfig;
try {
  config = readWorkerConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`gradcheck worker: ${error.message}`);
  process.exit(2);
}

const { worker, close } = startWorker(config);
console.log(
  `gradcheck worker ${process.pid}: ${config.concurrency} processors on ${QueueName.shards} at ${redactedRedisUrl(config.redisUrl)}`,
);

worker.on("completed", (job, result) => {
  console.log(`check ${job.data.checkId} shard ${job.data.shard.index}: done in ${result.seconds.toFixed(2)} s`);
});
worker.on("failed", (job, error) => {
  const where = job ? `check ${job.data.checkId} shard ${job.data.shard.index} (attempt ${job.attemptsMade})` : "a shard";
  console.error(`${where}: failed: ${error.message}`);
});

let closing = false;
function shutdown(reason: string): void {
  if (closing) {
    console.error(`gradcheck worker ${process.pid}: ${reason} again, exiting without waiting for running shards`);
    process.exit(1);
  }
  closing = true;
  console.log(`gradcheck worker ${process.pid}: ${reason}, finishing running shards`);
  close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`gradcheck worker ${process.pid}: closing failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}

process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
// Forked with an IPC channel: a parent that dies must not leave an orphan consuming jobs.
if (process.send) process.on("disconnect", () => shutdown("parent disconnected"));
