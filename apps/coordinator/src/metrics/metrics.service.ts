import { Inject, Injectable, type OnApplicationBootstrap } from "@nestjs/common";
import { CHECK_STATUSES, SHARD_SECONDS_BUCKETS } from "@gradcheck/contracts";
import { CheckRepository } from "@gradcheck/db";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { CheckNotifier } from "../queue/check-notifier.js";
import { QueueService } from "../queue/queue.service.js";

/**
 * The coordinator's Prometheus metrics. Checks by status and jobs by state are read when
 * scraped (from PostgreSQL and Redis, so every coordinator reports the whole cluster); shard
 * durations come from the queue's events as shards complete on any worker.
 */
@Injectable()
export class MetricsService implements OnApplicationBootstrap {
  readonly registry = new Registry();
  private readonly submitted = new Counter({ name: "gradcheck_checks_submitted_total", help: "Checks this coordinator queued (a repeated submission that found its check is not counted)", registers: [this.registry] });
  private readonly shardSeconds = new Histogram({
    name: "gradcheck_shard_duration_seconds",
    help: "Seconds a shard's computation took on its worker",
    buckets: SHARD_SECONDS_BUCKETS,
    registers: [this.registry],
  });

  constructor(
    @Inject(CheckRepository) checks: CheckRepository,
    @Inject(QueueService) queue: QueueService,
    @Inject(CheckNotifier) private readonly notifier: CheckNotifier,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: "gradcheck_coordinator_" });
    new Gauge({
      name: "gradcheck_checks",
      help: "Checks in the database, by status",
      labelNames: ["status"],
      registers: [this.registry],
      async collect() {
        const counts = await checks.countByStatus();
        for (const status of CHECK_STATUSES) this.set({ status }, counts[status] ?? 0);
      },
    });
    new Gauge({
      name: "gradcheck_queue_jobs",
      help: "BullMQ jobs, by queue and state",
      labelNames: ["queue", "state"],
      registers: [this.registry],
      async collect() {
        for (const [name, counts] of Object.entries(await queue.jobCounts())) {
          for (const [state, count] of Object.entries(counts)) this.set({ queue: name, state }, count);
        }
      },
    });
  }

  onApplicationBootstrap(): void {
    this.notifier.onShardCompleted((seconds) => this.shardSeconds.observe(seconds));
  }

  checkSubmitted(): void {
    this.submitted.inc();
  }
}
