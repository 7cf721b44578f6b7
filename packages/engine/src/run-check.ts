import { availableParallelism } from "node:os";
import type { Report } from "@gradcheck/contracts";
import type { CheckInput, CheckOptions } from "./check-input.js";
import { planCheck, shardWork } from "./check-plan.js";
import { assertCheckableCost, finishCheck, type CheckOutcome } from "./finish-check.js";
import { localShardSize, planShards } from "./plan.js";
import { runShard, type ShardResult } from "./shard.js";
import { backendFor, type ShardJob } from "./thread-job.js";
import { ThreadPool } from "./thread-pool.js";

export interface LocalRunOptions extends CheckOptions {
  /** worker threads; 1 runs in this thread; default: one per core, fewer for small models */
  readonly threads?: number;
  /** items done (coordinates, or directions in directional mode) out of the plan's total */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Below this many coordinates per thread, starting a thread costs more than it saves. */
const MIN_COORDINATES_PER_THREAD = 20_000;

export function defaultThreads(total: number): number {
  return Math.max(1, Math.min(availableParallelism(), Math.ceil(total / MIN_COORDINATES_PER_THREAD)));
}

/** A check on this machine: plan, run shards on threads, aggregate, report. */
export async function runLocalCheck(input: CheckInput, options: LocalRunOptions): Promise<Report> {
  return (await runLocalCheckWithResults(input, options)).report;
}

export async function runLocalCheckWithResults(input: CheckInput, options: LocalRunOptions): Promise<CheckOutcome> {
  const plan = planCheck(input, options);
  const job: ShardJob = {
    spec: input.spec,
    theta: input.theta,
    inputs: input.batch.inputs,
    targets: input.batch.targets,
    batchSize: input.batch.size,
    settings: plan.settings,
  };
  const directional = plan.directions !== undefined;
  const { items } = plan;
  // A direction costs about a forward pass, a coordinate a small fraction of one.
  const threads = Math.max(1, Math.min(options.threads ?? defaultThreads(items * (directional ? 2_000 : 1)), 256));
  const shards = planShards(items, directional ? Math.max(1, Math.ceil(items / 16)) : localShardSize(items, threads));
  const pool = threads > 1 && shards.length > 1 ? new ThreadPool(job, Math.min(threads, shards.length)) : undefined;

  try {
    const backend = backendFor(job);
    assertCheckableCost(input, backend);
    const onProgress = (done: number) => options.onProgress?.(done, items);
    const work = shards.map((shard) => shardWork(plan, shard));
    let results: ShardResult[];
    if (pool) {
      results = await pool.run(shards.map((shard, n) => ({ shard, work: work[n] })), onProgress);
    } else {
      let finished = 0;
      results = shards.map((shard, n) => {
        const result = runShard(backend, input.spec, shard, work[n], plan.settings, (done) => onProgress(finished + done));
        finished += shard.end - shard.start;
        return result;
      });
    }
    return finishCheck(input, options, plan, backend, results);
  } finally {
    await pool?.close();
  }
}
