import { availableParallelism } from "node:os";
import type { CpuBackend, PerturbedCostBackend } from "@gradcheck/compute";
import type { Layout } from "@gradcheck/core";
import type { GpuJsModeRequest } from "@gradcheck/compute/gpujs";
import type { Report } from "@gradcheck/contracts";
import type { CheckInput, CheckOptions, MlpCheckInput } from "./check-input.js";
import { planCheck, shardWork, timePerItem, type CheckPlan } from "./check-plan.js";
import { backendForInput } from "./checked-model.js";
import { BackendUnavailableError, openScreenedBackend, resolveBackend, type BackendRequest } from "./compute-backend.js";
import { assertCheckableCost, finishCheck, type CheckOutcome } from "./finish-check.js";
import { localShardSize, planShards, type Shard } from "./plan.js";
import type { ScreenSample } from "./screen.js";
import { runShard, type ShardResult, type ShardSettings, type ShardWork } from "./shard.js";
import { shardJobFor } from "./thread-job.js";
import { ThreadPool } from "./thread-pool.js";

export interface LocalRunOptions extends CheckOptions {
  /** worker threads; 1 runs in this thread; default: one per core, fewer for small models */
  readonly threads?: number;
  /** items done (coordinates, or directions in directional mode) out of the plan's total */
  readonly onProgress?: (done: number, total: number) => void;
  /** cpu (float64) by default; gpujs screens coordinates in float32 and confirms in float64 */
  readonly backend?: BackendRequest;
  readonly gpujsMode?: GpuJsModeRequest;
  /** the float64 sample of the screen's passes (tests shrink it) */
  readonly screenSample?: ScreenSample;
}

/** Below this many coordinates per thread, starting a thread costs more than it saves. */
const MIN_COORDINATES_PER_THREAD = 20_000;

export function defaultThreads(total: number): number {
  return Math.max(1, Math.min(availableParallelism(), Math.ceil(total / MIN_COORDINATES_PER_THREAD)));
}

/**
 * A thread loads the engine and rebuilds the model's forward pass before its first item: a
 * few tenths of a second. A check whose items take less than this in one thread runs there.
 */
const THREAD_WORTH_SECONDS = 0.5;

/**
 * Threads for a check when none are asked for: directions by their count (each costs about a
 * forward pass), coordinates by their timed cost, which varies from a fraction of a forward
 * pass (an MLP's last layer) to most of one (a transformer's first block).
 */
function threadsFor(plan: CheckPlan, backend: PerturbedCostBackend, computeBackend: string): number {
  if (plan.directions || computeBackend !== "cpu") return defaultThreads(plan.items * (plan.directions ? 2_000 : 1));
  const seconds = timePerItem(backend, plan, 0.01) * plan.items;
  if (seconds < THREAD_WORTH_SECONDS) return 1;
  return Math.max(1, Math.min(availableParallelism(), plan.items, Math.ceil(seconds / THREAD_WORTH_SECONDS)));
}

/** A check on this machine: plan, run shards on threads, aggregate, report. */
export async function runLocalCheck(input: CheckInput, options: LocalRunOptions): Promise<Report> {
  return (await runLocalCheckWithResults(input, options)).report;
}

export async function runLocalCheckWithResults(input: CheckInput, options: LocalRunOptions): Promise<CheckOutcome> {
  const plan = planCheck(input, options);
  const directional = plan.directions !== undefined;
  const { items } = plan;
  // the float32 screen covers MLPs; a version 2 network's `auto` is the cpu backend
  const computeBackend = directional || (input.graph && options.backend !== "gpujs") ? "cpu" : await resolveBackend(options.backend ?? "cpu");
  if (input.graph && computeBackend === "gpujs") {
    throw new BackendUnavailableError("--backend gpujs screens version 1 MLPs only; a version 2 network is checked on the cpu backend: drop --backend gpujs");
  }
  const backend = backendForInput(input);
  assertCheckableCost(input, backend);
  const threads = Math.max(1, Math.min(options.threads ?? threadsFor(plan, backend, computeBackend), 256));
  // The screen batches coordinates into kernel runs itself: one shard keeps its blocks whole.
  const shardSize = directional ? Math.max(1, Math.ceil(items / 16)) : computeBackend === "gpujs" ? Math.max(1, items) : localShardSize(items, threads);
  const shards = planShards(items, shardSize);
  const pool = computeBackend === "cpu" && threads > 1 && shards.length > 1 ? new ThreadPool(shardJobFor(input, plan.settings), Math.min(threads, shards.length)) : undefined;

  try {
    const onProgress = (done: number) => options.onProgress?.(done, items);
    const work = shards.map((shard) => ({ shard, work: shardWork(plan, shard) }));
    let results: ShardResult[];
    if (computeBackend === "gpujs") {
      const screened = await openScreenedBackend(input as MlpCheckInput, backend as CpuBackend, { gpujsMode: options.gpujsMode, seed: plan.settings.seed, sample: options.screenSample });
      try {
        results = runInThisThread(screened.backend, plan.layout, plan.settings, work, onProgress);
      } finally {
        await screened.close();
      }
    } else if (pool) {
      results = await pool.run(work, onProgress);
    } else {
      results = runInThisThread(backend, plan.layout, plan.settings, work, onProgress);
    }
    return finishCheck(input, options, plan, backend, results);
  } finally {
    await pool?.close();
  }
}

/** Runs shards one after another here, with progress over all of them. */
function runInThisThread(
  backend: PerturbedCostBackend,
  layout: Layout,
  settings: ShardSettings,
  work: readonly { readonly shard: Shard; readonly work: ShardWork }[],
  onProgress: (done: number) => void,
): ShardResult[] {
  let finished = 0;
  return work.map(({ shard, work: items }) => {
    const result = runShard(backend, layout, shard, items, settings, (done) => onProgress(finished + done));
    finished += shard.end - shard.start;
    return result;
  });
}
