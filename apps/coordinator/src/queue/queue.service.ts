import { Inject, Injectable, Logger, ServiceUnavailableException, type OnApplicationShutdown } from "@nestjs/common";
import {
  aggregateJobId,
  JobName,
  processorsOfWorker,
  QueueName,
  shardJobId,
  type AggregateJobData,
  type ShardJobData,
} from "@gradcheck/contracts";
import { FlowProducer, Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { CoordinatorConfig } from "../config.js";
import { CONFIG } from "../tokens.js";
import { producerConnection, redactedUrl } from "./redis.js";

/** How long a request waits for Redis before answering 503. */
const READY_TIMEOUT_MS = 500;

/** Retries of a shard whose worker crashed or failed transiently; bad input fails at once. */
export const SHARD_ATTEMPTS = 3;

/** How long a finished flow stays in Redis (for its progress and failure reasons). */
const FINISHED_FLOW_SECONDS = 24 * 3600;

/** Where a check's flow stands in the queue. */
export interface FlowState {
  readonly state: string;
  readonly data: AggregateJobData;
  readonly shardsDone: number;
  readonly failedReason: string | null;
}

@Injectable()
export class QueueService implements OnApplicationShutdown {
  private readonly logger = new Logger("Queue");
  private readonly redis: Redis;
  private readonly flows: FlowProducer;
  private readonly aggregates: Queue;
  private readonly shards: Queue;

  constructor(@Inject(CONFIG) private readonly config: CoordinatorConfig) {
    this.redis = producerConnection(config.redisUrl);
    this.redis.on("error", (error) => this.logger.warn(`Redis at ${redactedUrl(config.redisUrl)}: ${error.message}`));
    const options = { connection: this.redis, prefix: config.queuePrefix };
    this.flows = new FlowProducer(options);
    this.aggregates = new Queue(QueueName.aggregate, options);
    this.shards = new Queue(QueueName.shards, options);
    // Connection errors surface through the requests that meet them (503), and are logged once above.
    this.flows.on("error", () => {});
    this.aggregates.on("error", () => {});
    this.shards.on("error", () => {});
  }

  /** Jobs of each queue by state, for the metrics. */
  async jobCounts(): Promise<Record<string, Record<string, number>>> {
    const states = ["waiting", "waiting-children", "active", "delayed", "completed", "failed"] as const;
    const [shards, aggregate] = await Promise.all([this.shards.getJobCounts(...states), this.aggregates.getJobCounts(...states)]);
    return { shards, aggregate };
  }

  /** Throws 503 unless Redis answers now. */
  async assertAvailable(): Promise<void> {
    if (!(await this.ping())) {
      throw new ServiceUnavailableException(
        `the job queue (Redis at ${redactedUrl(this.config.redisUrl)}) is unreachable, so no check was created; try again once it is back`,
      );
    }
  }

  async ping(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS)));
    const answer = (async () => {
      if (this.redis.status !== "ready") return false;
      return (await this.redis.ping()) === "PONG";
    })().catch(() => false);
    try {
      return await Promise.race([answer, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Processors of the workers connected now (at least 1: workers may come later). */
  async processors(): Promise<number> {
    const workers = await this.shards.getWorkers().catch(() => []);
    return Math.max(1, workers.reduce((sum, worker) => sum + processorsOfWorker(worker.rawname ?? ""), 0));
  }

  /** One flow per check: the aggregation job waits on every shard job; ids make a repeated add a no-op. */
  async addCheckFlow(aggregate: AggregateJobData, shards: readonly ShardJobData[]): Promise<void> {
    const { checkId } = aggregate;
    try {
      await this.flows.add({
        name: JobName.aggregate,
        queueName: QueueName.aggregate,
        data: aggregate,
        opts: {
          jobId: aggregateJobId(checkId),
          attempts: SHARD_ATTEMPTS,
          backoff: { type: "exponential", delay: 1000 },
          // Once aggregated, the report is in the database; the flow can go.
          removeOnComplete: { age: FINISHED_FLOW_SECONDS },
          removeOnFail: { age: FINISHED_FLOW_SECONDS },
        },
        children: shards.map((data) => ({
          name: JobName.shard,
          queueName: QueueName.shards,
          data,
          opts: {
            jobId: shardJobId(checkId, data.shard.index),
            attempts: SHARD_ATTEMPTS,
            backoff: { type: "exponential", delay: 1000 },
            failParentOnFailure: true,
            // A child's result lives on in its parent's processed list, which aggregation reads.
            removeOnComplete: true,
            removeOnFail: { age: FINISHED_FLOW_SECONDS },
          },
        })),
      });
    } catch (error) {
      throw new ServiceUnavailableException(
        `the job queue (Redis at ${redactedUrl(this.config.redisUrl)}) failed while the check was being queued (${(error as Error).message}); no check was created`,
      );
    }
  }

  /** The flow of a check, or null when the queue no longer has it. */
  async flowState(checkId: string): Promise<FlowState | null> {
    const job = await this.aggregates.getJob(aggregateJobId(checkId));
    if (!job) return null;
    const [state, counts] = await Promise.all([job.getState(), job.getDependenciesCount({ processed: true })]);
    const data = job.data as AggregateJobData;
    const failedReason = state === "failed" ? await this.failureReason(job.failedReason, data) : null;
    return { state, data, shardsDone: counts.processed ?? 0, failedReason };
  }

  /**
   * Why a check's flow failed, in words: a parent failed by a child says only "child <key>
   * failed", so the shard's own reason is looked up by the key it names. A parent read just
   * before BullMQ failed it (a child's failure is deferred to the parent's next move) has no
   * reason yet, although its state, read after, is failed: then the check's failed shard is
   * looked for among its shards.
   */
  async failureReason(parentReason: string | undefined, flow?: Pick<AggregateJobData, "checkId" | "shards">): Promise<string> {
    const child = /child .*:(check-.+-shard-(\d+)) failed/.exec(parentReason ?? "");
    if (child) {
      const shard = await this.shards.getJob(child[1]).catch(() => undefined);
      return `shard ${child[2]} failed: ${shard?.failedReason ?? "no reason recorded"}`;
    }
    for (let index = 0; flow && index < flow.shards; index++) {
      const shard = await this.shards.getJob(shardJobId(flow.checkId, index)).catch(() => undefined);
      if (shard?.failedReason && (await shard.getState().catch(() => undefined)) === "failed") return `shard ${index} failed: ${shard.failedReason}`;
    }
    return parentReason || "the check's aggregation failed";
  }

  /** Removes what of a check's flow has not started; running shards finish and are ignored. */
  async cancel(checkId: string, shards: number): Promise<void> {
    for (let index = 0; index < shards; index++) {
      await this.shards.remove(shardJobId(checkId, index), { removeChildren: false }).catch(() => 0);
    }
    await this.aggregates.remove(aggregateJobId(checkId)).catch(() => 0);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.flows.close(), this.aggregates.close(), this.shards.close()]);
    this.redis.disconnect();
  }
}
