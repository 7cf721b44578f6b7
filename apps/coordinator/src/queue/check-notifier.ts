import { EventEmitter, once } from "node:events";
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from "@nestjs/common";
import { QueueName } from "@gradcheck/contracts";
import { QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import type { CoordinatorConfig } from "../config.js";
import { CONFIG } from "../tokens.js";
import { workerConnection } from "./redis.js";

/** The check a job id belongs to (ids are `check-<id>-shard-<k>` and `check-<id>-aggregate`). */
const CHECK_OF_JOB = /^check-(.+)-(?:shard-\d+|aggregate)$/;

/**
 * Wakes whoever follows a check when one of its jobs completes or fails, on any worker and
 * through any coordinator: BullMQ's queue events come from Redis streams.
 */
@Injectable()
export class CheckNotifier implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger("CheckNotifier");
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private readonly listeners: { events: QueueEvents; connection: Redis }[] = [];

  constructor(@Inject(CONFIG) private readonly config: CoordinatorConfig) {}

  onApplicationBootstrap(): void {
    for (const queue of [QueueName.shards, QueueName.aggregate]) {
      const connection = workerConnection(this.config.redisUrl);
      const events = new QueueEvents(queue, { connection, prefix: this.config.queuePrefix });
      events.on("error", (error) => this.logger.warn(error.message));
      const notify = ({ jobId }: { jobId: string }) => {
        const check = CHECK_OF_JOB.exec(jobId)?.[1];
        if (check) this.emitter.emit(check);
      };
      events.on("completed", notify);
      events.on("failed", notify);
      if (queue === QueueName.shards) {
        events.on("completed", ({ returnvalue }) => {
          const seconds = (returnvalue as unknown as { seconds?: unknown } | undefined)?.seconds;
          if (typeof seconds === "number") for (const listener of this.shardListeners) listener(seconds);
        });
      }
      this.listeners.push({ events, connection });
    }
  }

  private readonly shardListeners: ((seconds: number) => void)[] = [];

  /** Calls `listener` with each shard's computing time as a shard completes, on any worker. */
  onShardCompleted(listener: (seconds: number) => void): void {
    this.shardListeners.push(listener);
  }

  /** Resolves when a job of the check completes or fails, or after `timeoutMs`, whichever comes first. */
  async changed(checkId: string, timeoutMs: number): Promise<void> {
    await once(this.emitter, checkId, { signal: AbortSignal.timeout(timeoutMs) }).catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    for (const { events, connection } of this.listeners) {
      await events.close().catch(() => undefined);
      connection.disconnect();
    }
  }
}
