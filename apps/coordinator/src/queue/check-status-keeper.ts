import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from "@nestjs/common";
import { CheckRepository } from "@gradcheck/db";
import { QueueName, type CheckStatus } from "@gradcheck/contracts";
import { QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import type { CoordinatorConfig } from "../config.js";
import { observedStatus } from "../checks/observed-status.js";
import { CONFIG } from "../tokens.js";
import { QueueService } from "./queue.service.js";
import { workerConnection } from "./redis.js";

/** A check this old whose flow is missing from the queue will never run. */
export const LOST_FLOW_MS = 30_000;
const CHECK_OF_SHARD = /^check-(.+)-shard-\d+$/;

/**
 * Records a check's status where it changes, so that no read has to: a shard job that starts
 * marks its check running (a queue event), and every few seconds the open checks are compared
 * with the queue, which catches a flow that failed and one Redis lost (flushed, or a
 * coordinator that stopped between the commit and the enqueue). Every coordinator runs one;
 * the updates are conditional, so two agree.
 */
@Injectable()
export class CheckStatusKeeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger("CheckStatus");
  private events?: QueueEvents;
  private connection?: Redis;
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
    @Inject(CheckRepository) private readonly checks: CheckRepository,
    @Inject(QueueService) private readonly queue: QueueService,
  ) {}

  onApplicationBootstrap(): void {
    this.connection = workerConnection(this.config.redisUrl);
    this.events = new QueueEvents(QueueName.shards, { connection: this.connection, prefix: this.config.queuePrefix });
    this.events.on("error", (error) => this.logger.warn(error.message));
    this.events.on("active", ({ jobId }) => {
      const check = CHECK_OF_SHARD.exec(jobId)?.[1];
      if (check) this.checks.markRunning(check).catch((error: Error) => this.logger.warn(`check ${check}: could not mark it running: ${error.message}`));
    });
    if (this.config.statusSweepMs === 0) return;
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((error: Error) => this.logger.warn(`comparing open checks with the queue: ${error.message}`))
        .finally(() => (this.sweeping = undefined));
    }, this.config.statusSweepMs);
    this.timer.unref();
  }

  /** Records, for each open check, what the queue says of it. */
  async sweep(): Promise<void> {
    for (const check of await this.checks.open()) {
      const flow = await this.queue.flowState(check.id);
      if (flow === null) {
        if (Date.now() - check.createdAt.getTime() > LOST_FLOW_MS) await this.checks.markFailed(check.id, "the check's jobs are no longer in the queue (was Redis flushed?); submit it again");
        continue;
      }
      const seen = observedStatus(check.status as CheckStatus, flow);
      if (seen.status === "failed") await this.checks.markFailed(check.id, seen.error ?? "a shard failed");
      else if (seen.status === "running" && check.status === "queued") await this.checks.markRunning(check.id);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
    await this.events?.close().catch(() => undefined);
    this.connection?.disconnect();
  }
}
