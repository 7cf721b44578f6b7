import { availableParallelism } from "node:os";
import type { Report } from "@gradcheck/contracts";
import { forward, networkFromTheta } from "@gradcheck/models";
import { mergeShardResults } from "./aggregate.js";
import type { CheckInput, CheckOptions } from "./check-input.js";
import { assertDeterministicCost } from "./determinism.js";
import { localShardSize, planShards } from "./plan.js";
import { buildReport } from "./report.js";
import { runShard, type ShardResult } from "./shard.js";
import { backendFor, type ShardJob } from "./thread-job.js";
import { runShardsOnThreads } from "./thread-pool.js";

export interface LocalRunOptions extends CheckOptions {
  /** worker threads; 1 runs in this thread; default: one per core, fewer for small models */
  readonly threads?: number;
  readonly onProgress?: (coordinatesDone: number, total: number) => void;
}

/** Below this many coordinates per thread, starting a thread costs more than it saves. */
const MIN_COORDINATES_PER_THREAD = 20_000;

export function defaultThreads(total: number): number {
  return Math.max(1, Math.min(availableParallelism(), Math.ceil(total / MIN_COORDINATES_PER_THREAD)));
}

/** A full check on this machine: plan, run shards on threads, aggregate, report. */
export async function runLocalCheck(input: CheckInput, options: LocalRunOptions): Promise<Report> {
  const job: ShardJob = {
    spec: input.spec,
    theta: input.theta,
    inputs: input.batch.inputs,
    targets: input.batch.targets,
    batchSize: input.batch.size,
    eps: options.eps,
  };
  const backend = backendFor(job);
  const network = networkFromTheta(input.spec, input.theta);
  assertDeterministicCost(() => forward(network, input.batch).cost, backend.cost);

  const layout = backend.evaluator.layout;
  const total = layout.total;
  const threads = Math.max(1, Math.min(options.threads ?? defaultThreads(total), 256));
  const shards = planShards(total, localShardSize(total, threads));
  const onProgress = (done: number) => options.onProgress?.(done, total);

  let results: ShardResult[];
  if (threads === 1) {
    let finished = 0;
    results = shards.map((shard) => {
      const result = runShard(backend, shard, options.eps, (done) => onProgress(finished + done));
      finished += shard.end - shard.start;
      return result;
    });
  } else {
    results = await runShardsOnThreads(job, shards, threads, onProgress);
  }
  return buildReport(layout, input, options, mergeShardResults(total, results), backend.cost);
}
