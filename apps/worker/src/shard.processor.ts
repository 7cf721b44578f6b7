import { workerData } from "node:worker_threads";
import { UnrecoverableError, type SandboxedJob } from "bullmq";
import { shardJobDataSchema, type ShardJobData, type ShardJobResult, type ShardProgress } from "@gradcheck/contracts";
import type { CpuBackend, PerturbedCostBackend } from "@gradcheck/compute";
import {
  isCheckInputError,
  LastCheckpoint,
  openScreenedBackend,
  planCheck,
  runShard,
  shardJobResult,
  shardWork,
  type CheckPlan,
  type LoadedCheckpoint,
  type MlpCheckInput,
} from "@gradcheck/engine";
import { checkSpecJson, ModelSpecError, parseCheckSpec, type CheckSpec } from "@gradcheck/models";
import { cachedCheckpoint, type CheckpointSource } from "./checkpoint-cache.js";
import { CoordinatorRequestError } from "./coordinator-http.js";
import { uploadShardResults } from "./result-upload.js";
import type { WorkerBackend } from "./compute-backend.js";

/** What startWorker hands every processor thread as `workerData`. */
export interface ProcessorSettings extends CheckpointSource, WorkerBackend {
  readonly debug: boolean;
}

/** A check's plan, for the shards of that check. */
interface PreparedCheck {
  readonly backend: PerturbedCostBackend;
  readonly plan: CheckPlan;
}

const PROGRESS_INTERVAL_MS = 250;

// Module state lives as long as the thread: BullMQ keeps processor threads in a pool and
// hands each one job at a time.
/** Later shards of the same checkpoint, of any check, reuse it. */
const checkpoints = new LastCheckpoint();
let planned: { readonly key: string; readonly plan: CheckPlan } | undefined;
/** The gpu.js screen of the last check's coordinates (gpujs backend only). */
let screen: { readonly key: string; readonly opened: ReturnType<typeof openScreenedBackend> } | undefined;

/**
 * Computes one shard of a check (BullMQ sandboxed processor, run in a worker thread).
 *
 * Input that no retry can fix fails with UnrecoverableError, so BullMQ fails the job at once
 * whatever its `attempts`. Errors cross from the thread as plain JSON (bullmq's errorToJSON
 * copies own properties) and come back as a plain Error, so `instanceof` is lost; but
 * UnrecoverableError sets its own `name`, which survives, and Job.shouldRetryJob also
 * accepts `err.name == "UnrecoverableError"`. Everything else (coordinator unreachable or
 * 5xx) is thrown as is and retried per the job's `attempts`/`backoff`.
 */
export default async function processShard(job: SandboxedJob<ShardJobData>): Promise<ShardJobResult> {
  const settings = processorSettings();
  const parsed = shardJobDataSchema.safeParse(job.data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UnrecoverableError(`shard job ${job.id}: invalid data: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  const data = parsed.data;
  const check = await prepare(settings, data);
  const work = unrecoverableOn(() => shardWork(check.plan, data.shard), RangeError);
  const total = data.shard.end - data.shard.start;
  const started = performance.now();
  const result = runShard(check.backend, check.plan.layout, data.shard, work, check.plan.settings, progressReporter(job, total));
  const seconds = (performance.now() - started) / 1000;
  if (settings.debug) console.log(`[debug] check ${data.checkId} shard ${data.shard.index}: ${total} items in ${seconds.toFixed(3)} s`);
  const outcome = await withCoordinator(settings, () => uploadShardResults(settings, data.checkId, result));
  if (settings.debug && outcome !== "stored") console.log(`[debug] check ${data.checkId} shard ${data.shard.index}: results ${outcome}`);
  return shardJobResult(result, seconds);
}

async function prepare(settings: ProcessorSettings, data: ShardJobData): Promise<PreparedCheck> {
  const spec = unrecoverableOn(() => parseCheckSpec(data.spec, "model spec"), ModelSpecError);
  const checkpoint = await load(settings, data, spec);
  const key = JSON.stringify([data.checkpointHash, checkSpecJson(spec), data.options]);
  if (planned?.key !== key) {
    planned = { key, plan: planCheck(checkpoint.input, data.options) };
    if (settings.debug) console.log(`[debug] check ${data.checkId}: ${planned.plan.items} items`);
  }
  // Directional mode is not screened: its few directions run on the float64 cpu backend; nor
  // is a version 2 network, which the float32 screen does not cover.
  if (settings.backend === "cpu" || planned.plan.directions || checkpoint.input.graph) return { backend: checkpoint.backend, plan: planned.plan };
  return { backend: await screenedBackend(settings, checkpoint, planned.plan, key), plan: planned.plan };
}

/** The screen for this check, built once per (checkpoint, options) and kept for its next shards. */
async function screenedBackend(settings: ProcessorSettings, checkpoint: LoadedCheckpoint, plan: CheckPlan, key: string): Promise<PerturbedCostBackend> {
  if (screen?.key !== key) {
    const previous = screen;
    screen = { key, opened: openScreenedBackend(checkpoint.input as MlpCheckInput, checkpoint.backend as CpuBackend, { gpujsMode: settings.gpujsMode ?? "auto", seed: plan.settings.seed }) };
    await previous?.opened.then((old) => old.close(), () => undefined);
    const opened = screen.opened;
    // A screen that failed to open is not kept: the shard's retry tries again.
    opened.catch(() => {
      if (screen?.opened === opened) screen = undefined;
    });
  }
  return (await screen.opened).backend;
}

async function load(settings: ProcessorSettings, data: ShardJobData, spec: CheckSpec): Promise<LoadedCheckpoint> {
  const path = await withCoordinator(settings, () => cachedCheckpoint(settings, data.checkpointHash));
  try {
    return await checkpoints.load(path, spec, `checkpoint ${data.checkpointHash}`);
  } catch (error) {
    // The file matched its hash, so a bad or mismatched checkpoint stays bad on every retry.
    if (isCheckInputError(error)) throw new UnrecoverableError((error as Error).message);
    throw error;
  }
}

/** Waits between attempts of a request to the coordinator: about two minutes in all, time for it to restart. */
const COORDINATOR_RETRY_SECONDS = [1, 2, 4, 8, 15, 30, 30, 30];

/**
 * A request to the coordinator (a download, or handing in results), retried while the
 * coordinator is down or restarting, so that an outage does not use up the shard's few
 * attempts. A refusal no retry can change fails the job at once.
 */
async function withCoordinator<T>(settings: ProcessorSettings, request: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (error instanceof CoordinatorRequestError && error.permanent) throw new UnrecoverableError(error.message);
      if (attempt >= COORDINATOR_RETRY_SECONDS.length) throw error;
      if (settings.debug) console.log(`[debug] ${(error as Error).message}; retrying in ${COORDINATOR_RETRY_SECONDS[attempt]} s`);
      await new Promise((resolve) => setTimeout(resolve, COORDINATOR_RETRY_SECONDS[attempt] * 1000));
    }
  }
}

/** Progress for QueueEvents (the coordinator's live view), at most every PROGRESS_INTERVAL_MS. */
function progressReporter(job: SandboxedJob<ShardJobData>, total: number): (done: number) => void {
  let last = performance.now();
  return (done) => {
    const now = performance.now();
    if (now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    // Progress is advisory: a lost update must not fail the shard.
    job.updateProgress({ done, total } satisfies ShardProgress).catch(() => undefined);
  };
}

function unrecoverableOn<T>(compute: () => T, kind: abstract new (...args: never[]) => Error): T {
  try {
    return compute();
  } catch (error) {
    if (error instanceof kind) throw new UnrecoverableError(error.message);
    throw error;
  }
}

function processorSettings(): ProcessorSettings {
  const settings = workerData as ProcessorSettings | null;
  if (!settings?.cacheDir) {
    throw new Error("shard.processor.js must run in a worker thread started by startWorker, which passes its settings as workerData");
  }
  return settings;
}
