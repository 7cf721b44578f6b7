import { QueueName } from "@gradcheck/contracts";
import { pino } from "pino";
import { resolveWorkerBackend, type WorkerBackend } from "./compute-backend.js";
import { ConfigError, readWorkerConfig, redactedRedisUrl, wantsHelp, WORKER_USAGE, type WorkerConfig } from "./config.js";
import { WorkerMetrics } from "./metrics.js";
import { startWorker } from "./worker.js";

const argv = process.argv.slice(2);
if (wantsHelp(argv)) {
  console.log(WORKER_USAGE);
  process.exit(0);
}

let config: WorkerConfig;
let compute: WorkerBackend;
try {
  config = readWorkerConfig(process.env, argv);
  compute = await resolveWorkerBackend(config);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`gradcheck worker: ${error.message}`);
  process.exit(2);
}

// structured JSON lines, one per event, for a log collector
const log = pino({ name: "gradcheck-worker", level: config.debug ? "debug" : "info", base: { pid: process.pid } });
const metrics = new WorkerMetrics(config.concurrency);
if (config.metricsPort !== null) {
  await metrics.serve(config.metricsPort, "0.0.0.0").then(
    (server) => {
      server.unref();
      log.info({ port: config.metricsPort }, `gradcheck worker ${process.pid}: metrics on http://0.0.0.0:${config.metricsPort}/metrics`);
    },
    (error: Error) => {
      console.error(`gradcheck worker: GRADCHECK_METRICS_PORT ${config.metricsPort}: cannot listen (${error.message})`);
      process.exit(2);
    },
  );
}

const { worker, close } = startWorker(config, compute);
const backend = compute.backend === "gpujs" ? `gpujs (${compute.gpujsMode}, float32 screen, float64 confirmation)` : "cpu (float64)";
log.info(
  { processors: config.concurrency, queue: QueueName.shards, backend: compute.backend },
  `gradcheck worker ${process.pid}: ${config.concurrency} processors on ${QueueName.shards} at ${redactedRedisUrl(config.redisUrl)}, backend ${backend}`,
);

worker.on("completed", (job, result) => {
  metrics.completed(result.seconds);
  log.info({ checkId: job.data.checkId, shard: job.data.shard.index, seconds: result.seconds }, `check ${job.data.checkId} shard ${job.data.shard.index}: done in ${result.seconds.toFixed(2)} s`);
});
worker.on("failed", (job, error) => {
  metrics.failed();
  const where = job ? `check ${job.data.checkId} shard ${job.data.shard.index} (attempt ${job.attemptsMade})` : "a shard";
  log.error({ checkId: job?.data.checkId, shard: job?.data.shard.index, attempt: job?.attemptsMade }, `${where}: failed: ${error.message}`);
});

let closing = false;
function shutdown(reason: string): void {
  if (closing) {
    log.error(`gradcheck worker ${process.pid}: ${reason} again, exiting without waiting for running shards`);
    process.exit(1);
  }
  closing = true;
  log.info(`gradcheck worker ${process.pid}: ${reason}, finishing running shards`);
  close().then(
    () => process.exit(0),
    (error: unknown) => {
      log.error(`gradcheck worker ${process.pid}: closing failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}

process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
// Forked with an IPC channel: a parent that dies must not leave an orphan consuming jobs.
if (process.send) process.on("disconnect", () => shutdown("parent disconnected"));
