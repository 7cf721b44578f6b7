import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from "@nestjs/common";
import { QueueName } from "@gradcheck/contracts";
import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import { fileURLToPath } from "node:url";
import type { CoordinatorConfig } from "../config.js";
import { CONFIG } from "../tokens.js";
import { workerConnection } from "./redis.js";

/** Lock timings that let a crashed coordinator's aggregation be picked up in seconds (see docs/cluster-notes.md). */
export const LOCK_OPTIONS = { lockDuration: 5000, stalledInterval: 2000, maxStalledCount: 2 } as const;

/** Consumes the aggregation jobs of finished flows, in a sandboxed worker thread. */
@Injectable()
export class AggregationWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger("Aggregation");
  private worker?: Worker;
  private connection?: Redis;

  constructor(@Inject(CONFIG) private readonly config: CoordinatorConfig) {}

  onApplicationBootstrap(): void {
    this.worker = new Worker(QueueName.aggregate, fileURLToPath(new URL("./aggregate.processor.js", import.meta.url)), {
      connection: (this.connection = workerConnection(this.config.redisUrl)),
      prefix: this.config.queuePrefix,
      useWorkerThreads: true,
      concurrency: 1,
      ...LOCK_OPTIONS,
    });
    this.worker.on("error", (error) => this.logger.warn(error.message));
    this.worker.on("failed", (job, error) => this.logger.warn(`aggregation ${job?.id ?? "?"} failed: ${error.message}`));
    this.worker.on("completed", (job) => this.logger.log(`aggregated ${job.id}`));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
    this.connection?.disconnect();
  }
}
