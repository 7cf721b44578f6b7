import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from "@nestjs/common";
import { CheckRepository } from "@gradcheck/db";
import { QueueName, type AggregateJobData } from "@gradcheck/contracts";
import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import { fileURLToPath } from "node:url";
import type { CoordinatorConfig } from "../config.js";
import { CONFIG } from "../tokens.js";
import { QueueService } from "./queue.service.js";
import { workerConnection } from "./redis.js";

/** Lock timings that let a crashed coordinator's aggregation be picked up in seconds (see docs/cluster-notes.md). */
export const LOCK_OPTIONS = { lockDuration: 5000, stalledInterval: 2000, maxStalledCount: 2 } as const;

/** Consumes the aggregation jobs of finished flows, in a sandboxed worker thread. */
@Injectable()
export class AggregationWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger("Aggregation");
  private worker?: Worker;
  private connection?: Redis;

  constructor(
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
    @Inject(QueueService) private readonly queue: QueueService,
    @Inject(CheckRepository) private readonly checks: CheckRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.worker = new Worker(QueueName.aggregate, fileURLToPath(new URL("./aggregate.processor.js", import.meta.url)), {
      connection: (this.connection = workerConnection(this.config.redisUrl)),
      prefix: this.config.queuePrefix,
      useWorkerThreads: true,
      // The processor thread gets the application's configuration, not the environment's.
      workerThreadsOptions: { workerData: this.config },
      concurrency: 1,
      ...LOCK_OPTIONS,
    });
    this.worker.on("error", (error) => this.logger.warn(error.message));
    // A shard that failed for good fails its parent here, without the processor running.
    this.worker.on("failed", (job, error) => {
      if (!job) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || job.finishedOn !== undefined;
      this.logger.warn(`aggregation ${job.id ?? "?"} failed${final ? "" : ", will retry"}: ${error.message}`);
      if (!final) return;
      const { checkId } = job.data as AggregateJobData;
      void this.queue
        .failureReason(error.message, job.data as AggregateJobData)
        .then((reason) => this.checks.markFailed(checkId, reason))
        .catch((failure: Error) => this.logger.warn(`check ${checkId}: could not record the failure: ${failure.message}`));
    });
    this.worker.on("completed", (job) => this.logger.log(`aggregated ${job.id}`));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
    this.connection?.disconnect();
  }
}
