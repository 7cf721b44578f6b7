import { ConflictException, Inject, Injectable, NotFoundException } from "@nestjs/common";
import {
  checkOptionsSchema,
  isFinished,
  recordedCheckOptions,
  reportSchema,
  type CheckProgress,
  type CheckState,
  type CheckStatus,
  type SubmitCheck,
} from "@gradcheck/contracts";
import { canonicalHash, CheckpointRepository, CheckRepository, type CheckRow } from "@gradcheck/db";
import { checkSpecJson } from "@gradcheck/models";
import { CheckpointStorage } from "../checkpoints/checkpoint-storage.js";
import { ModelService } from "../models/model.service.js";
import { QueueService, type FlowState } from "../queue/queue.service.js";
import { shardJobs } from "./check-planner.js";
import { MetricsService } from "../metrics/metrics.service.js";
import { observedStatus } from "./observed-status.js";
import { PlanningThread } from "./planning-thread.js";

@Injectable()
export class CheckService {
  constructor(
    @Inject(CheckRepository) private readonly checks: CheckRepository,
    @Inject(CheckpointRepository) private readonly checkpoints: CheckpointRepository,
    @Inject(CheckpointStorage) private readonly storage: CheckpointStorage,
    @Inject(ModelService) private readonly models: ModelService,
    @Inject(QueueService) private readonly queue: QueueService,
    @Inject(PlanningThread) private readonly planner: PlanningThread,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  /** Queues a check (created: true), or finds the same checkpoint, options, run and step already queued, running or done. */
  async submit(request: SubmitCheck): Promise<{ state: CheckState; created: boolean }> {
    const { row: model, spec, version } = await this.models.spec(request.model, request.specVersion);
    const checkpoint = await this.checkpoints.find(model.id, request.checkpoint);
    if (!checkpoint || !(await this.storage.has(checkpoint.contentHash))) {
      throw new NotFoundException(`model "${model.name}" has no checkpoint ${request.checkpoint}; upload it with POST /api/v1/models/${model.name}/checkpoints`);
    }
    const recorded = recordedCheckOptions(request.options);
    const options = checkOptionsSchema.parse(JSON.parse(JSON.stringify(recorded)));
    const newCheck = {
      modelId: model.id,
      checkpointId: checkpoint.id,
      run: request.run,
      step: request.step ?? checkpoint.step,
      checkpointFile: request.checkpointFile ?? null,
      specVersion: version,
      mode: options.mode,
      options: recorded,
      optionsHash: canonicalHash(recorded),
      // set from the report when the check is done: each worker computes on its own backend
      backend: "pending",
    };
    const existing = await this.checks.findExisting(newCheck);
    if (existing) return { state: await this.stateOf(existing), created: false };
    // Refuse before creating anything when the queue is down.
    await this.queue.assertAvailable();
    // Planned before the check exists, in the planning thread: planning takes time, and
    // neither a transaction nor the event loop should wait on it.
    const sharded = await this.planner.shard(this.storage.pathOf(checkpoint.contentHash), checkSpecJson(spec), options, await this.queue.processors());
    const { row, created } = await this.checks.findOrCreate(newCheck);
    if (created) {
      // The check is committed before its flow exists, so aggregation always finds it; a flow
      // that cannot be added takes the check away again.
      try {
        await this.queue.addCheckFlow(
          { checkId: row.id, shards: sharded.shards.length, shardSize: sharded.shardSize, items: sharded.items },
          shardJobs(row.id, checkpoint.contentHash, checkSpecJson(spec), options, sharded.shards),
        );
      } catch (error) {
        await this.checks.remove(row.id);
        throw error;
      }
      this.metrics.checkSubmitted();
    }
    return { state: await this.stateOf(row), created };
  }

  async state(id: string): Promise<CheckState> {
    return this.stateOf(await this.row(id));
  }

  async cancel(id: string): Promise<CheckState> {
    const row = await this.row(id);
    if (!(await this.checks.cancel(id))) throw new ConflictException(`check ${id} has already finished (${row.status})`);
    const flow = await this.queue.flowState(id).catch(() => null);
    if (flow) await this.queue.cancel(id, flow.data.shards).catch(() => undefined);
    return this.state(id);
  }

  /** Progress of a check whose jobs are gone from the queue: what its stored shard results cover. */
  private async storedProgress(id: string): Promise<CheckProgress> {
    const { shards, items } = await this.checks.shardTotals(id);
    return { shardsDone: shards, shardsTotal: shards, itemsDone: items, itemsTotal: items, itemsPerSecond: null, etaSeconds: null };
  }

  private async row(id: string): Promise<CheckRow> {
    const row = await this.checks.find(id);
    if (!row) throw new NotFoundException(`no check with id "${id}"`);
    return row;
  }

  /**
   * The check as stored, with its progress read from the queue. A read never writes: the
   * status keeper (queue/check-status-keeper.ts) records what the queue saw. Until it has, the
   * queue's word is shown: a flow that failed there, or a shard that started.
   */
  private async stateOf(row: CheckRow): Promise<CheckState> {
    let status = row.status as CheckStatus;
    let error = row.error;
    // null: the queue has no such flow; undefined: the queue cannot be asked now.
    const flow = await this.queue.flowState(row.id).catch(() => undefined);
    if (!isFinished(status) && flow) {
      const seen = observedStatus(status, flow);
      status = seen.status;
      error = seen.error ?? error;
    }
    return {
      id: row.id,
      model: row.model.name,
      checkpoint: row.checkpoint.contentHash,
      specVersion: row.specVersion,
      run: row.run,
      step: row.step,
      status,
      options: checkOptionsSchema.parse(row.options),
      backend: row.backend,
      createdAt: row.createdAt.toISOString(),
      startedAt: row.startedAt?.toISOString() ?? null,
      finishedAt: row.finishedAt?.toISOString() ?? null,
      progress: flow ? progressOf(row, flow) : await this.storedProgress(row.id),
      report: row.report ? reportSchema.parse(row.report) : null,
      error,
    };
  }
}

function progressOf(row: CheckRow, flow: FlowState): CheckProgress {
  const { shards, shardSize, items } = flow.data;
  const itemsDone = flow.shardsDone >= shards ? items : Math.min(items, flow.shardsDone * shardSize);
  const seconds = (Date.now() - (row.startedAt ?? row.createdAt).getTime()) / 1000;
  const itemsPerSecond = itemsDone > 0 && seconds > 0 ? itemsDone / seconds : null;
  return {
    shardsDone: flow.shardsDone,
    shardsTotal: shards,
    itemsDone,
    itemsTotal: items,
    itemsPerSecond,
    etaSeconds: itemsPerSecond ? (items - itemsDone) / itemsPerSecond : null,
  };
}
