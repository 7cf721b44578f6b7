import { CheckpointMismatchError, parseCheckSpec } from "@gradcheck/models";
import { ZodError } from "zod";
import { aggregateJobDataSchema, checkOptionsSchema, provenanceFor, type AggregateJobData, type CheckOptionsRecord } from "@gradcheck/contracts";
import { CheckRepository, createClient, HistoryRepository, ShardResultStore, type PrismaClient } from "@gradcheck/db";
import { finishCheck, isCheckInputError, LastCheckpoint, planCheck, type CheckInput, type CheckPlan, type ShardResult } from "@gradcheck/engine";
import type { SandboxedJob } from "bullmq";
import { hostname } from "node:os";
import { workerData } from "node:worker_threads";
import type { CoordinatorConfig } from "../config.js";
import { CheckpointStorage } from "../checkpoints/checkpoint-storage.js";
import { loadShardResults } from "./shard-results.js";

// The aggregation job of a check's flow, run in a worker thread of the coordinator (it is
// CPU work: noise measurement and, in directional mode, localization).

let database: Promise<PrismaClient> | undefined;
let shardResults: ShardResultStore | undefined;
/** The checks of one checkpoint tend to come together. */
const checkpoints = new LastCheckpoint();
/** The last plan, for the next check of the same checkpoint and options (a retry, or another `top`). */
let lastPlan: { readonly input: CheckInput; readonly key: string; readonly plan: CheckPlan } | undefined;

function planOf(input: CheckInput, options: CheckOptionsRecord): CheckPlan {
  const key = JSON.stringify(options);
  if (lastPlan?.input !== input || lastPlan.key !== key) lastPlan = { input, key, plan: planCheck(input, options) };
  return lastPlan.plan;
}

export default async function aggregate(job: SandboxedJob<AggregateJobData>): Promise<{ recorded: boolean }> {
  const config = workerData as CoordinatorConfig;
  const prisma = await (database ??= createClient({ url: config.databaseUrl }));
  const { checkId, items } = aggregateJobDataSchema.parse(job.data);
  const checks = new CheckRepository(prisma);
  const check = await checks.findWithSpec(checkId);
  // The check commits before its flow is added: a flow without one was abandoned.
  if (!check) return { recorded: false };
  if (check.status !== "queued" && check.status !== "running") return { recorded: false };

  const children = await job.getChildrenValues();
  const results: ShardResult[] = await loadShardResults((shardResults ??= new ShardResultStore(config.databaseUrl)), checkId, Object.values(children));
  try {
    const spec = parseCheckSpec(check.spec, `model "${check.model.name}" (spec version ${check.specVersion})`);
    const options = checkOptionsSchema.parse(check.options);
    const path = new CheckpointStorage(config.storageDir).pathOf(check.checkpoint.contentHash);
    const { input, backend } = await checkpoints.load(path, spec, "the stored checkpoint");
    const plan = planOf(input, options);
    if (plan.items !== items) throw new CheckpointMismatchError(`the plan has ${plan.items} items, the flow ${items}`);
    // the check's step (`--step`, else the checkpoint's), which the report states
    const { report } = finishCheck({ ...input, step: check.step }, options, plan, backend, results);
    const finishedAt = new Date();
    const provenance = provenanceFor(report, {
      checkpoint: { file: check.checkpointFile, sha256: check.checkpoint.contentHash, sizeBytes: Number(check.checkpoint.sizeBytes) },
      run: check.run,
      checkedAt: finishedAt.toISOString(),
      host: hostname(),
    });
    return { recorded: await new HistoryRepository(prisma).completeCheck(checkId, { ...report, provenance }, finishedAt) };
  } catch (error) {
    // Other errors (database, disk) are retried by the queue; these no retry can change.
    if (!isCheckInputError(error) && !(error instanceof ZodError)) throw error;
    await checks.markFailed(checkId, `aggregation failed: ${(error as Error).message}`);
    return { recorded: false };
  }
}
