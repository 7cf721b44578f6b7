import { availableParallelism } from "node:os";
import { evaluationsPerDerivative, type PerturbedCostBackend } from "@gradcheck/compute";
import { gradientNoiseFloor, stepSize, THRESHOLDS, type Layout } from "@gradcheck/core";
import type { Report } from "@gradcheck/contracts";
import { forward, networkFromTheta, parameterLayout } from "@gradcheck/models";
import { mergeShardResults, scatterToTheta, type MergedResults } from "./aggregate.js";
import { stepRuleFor, type CheckInput, type CheckOptions } from "./check-input.js";
import { assertDeterministicCost, assertFiniteCost } from "./determinism.js";
import { planDirections, project, tensorDirection, type DirectionRef } from "./directions.js";
import { localize } from "./localize.js";
import { measureCoordinateNoise, measureDirectionalNoise, thresholdsAboveNoise } from "./noise.js";
import { localShardSize, planCoordinates, planShards } from "./plan.js";
import { buildReport, projectionFigures } from "./report.js";
import { runShard, type ShardResult, type ShardSettings, type ShardWork } from "./shard.js";
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

/** A check's report, and the per-coordinate results behind it (for heatmaps). */
export interface CheckOutcome {
  readonly report: Report;
  /** θ-sized: numerical derivatives of the coordinates checked one by one, and their status */
  readonly results: MergedResults;
}

/** A check on this machine: plan, run shards on threads, aggregate, report. */
export async function runLocalCheck(input: CheckInput, options: LocalRunOptions): Promise<Report> {
  return (await runLocalCheckWithResults(input, options)).report;
}

export async function runLocalCheckWithResults(input: CheckInput, options: LocalRunOptions): Promise<CheckOutcome> {
  const step = stepRuleFor(options);
  const settings: ShardSettings = {
    step,
    richardson: options.richardson,
    seed: options.seed,
    directionStep: stepSize(step, maxAbs(input.theta)),
  };
  const job: ShardJob = {
    spec: input.spec,
    theta: input.theta,
    inputs: input.batch.inputs,
    targets: input.batch.targets,
    batchSize: input.batch.size,
    settings,
  };
  const layout = parameterLayout(input.spec);
  const directional = options.mode === "directional";
  const plan = directional ? undefined : planCoordinates(layout, options);
  const refs = directional ? planDirections(layout, options.directions) : undefined;
  const items = plan ? plan.length : refs!.length;
  // A direction costs about a forward pass, a coordinate a small fraction of one.
  const threads = Math.max(1, Math.min(options.threads ?? defaultThreads(items * (directional ? 2_000 : 1)), 256));
  const shards = plan ? planShards(items, localShardSize(items, threads)) : planShards(items, Math.max(1, Math.ceil(items / 16)));
  const pool = threads > 1 && shards.length > 1 ? new ThreadPool(job, Math.min(threads, shards.length)) : undefined;

  try {
    const backend = backendFor(job);
    assertFiniteCost(backend.cost);
    const network = networkFromTheta(input.spec, input.theta);
    assertDeterministicCost(() => forward(network, input.batch).cost, backend.cost);

    const execute: Execute = async (work) => {
      const onProgress = (done: number) => options.onProgress?.(done, items);
      if (pool) return pool.run(shards.map((shard, n) => ({ shard, work: work[n] })), onProgress);
      let finished = 0;
      return shards.map((shard, n) => {
        const result = runShard(backend, input.spec, shard, work[n], settings, (done) => onProgress(finished + done));
        finished += shard.end - shard.start;
        return result;
      });
    };

    if (plan) {
      const work = shards.map((shard): ShardWork => ({ kind: "coordinates", indices: plan.slice(shard.start, shard.end) }));
      const results = await execute(work);
      const noise = measureCoordinateNoise(backend, layout, plan, settings);
      const merged = scatterToTheta(layout.total, plan, mergeShardResults(plan.length, results));
      const report = buildReport({
        layout,
        input,
        options,
        results: merged,
        cost: backend.cost,
        noise,
        costEvaluations: plan.length * evaluationsPerDerivative(options.richardson) + noise.evaluations,
      });
      return { report, results: merged };
    }
    const work = shards.map((shard): ShardWork => ({ kind: "directions", directions: refs!.slice(shard.start, shard.end) }));
    return await runDirectionalCheck(input, options, backend, layout, settings, refs!, await execute(work));
  } finally {
    await pool?.close();
  }
}

type Execute = (work: ShardWork[]) => Promise<ShardResult[]>;

/**
 * Directional mode: random unit directions over each tensor compare (J(θ + h·v) − J(θ − h·v))/2h
 * with v·dθ; tensors that disagree are then narrowed down to coordinates by group testing.
 */
async function runDirectionalCheck(
  input: CheckInput,
  options: LocalRunOptions,
  backend: PerturbedCostBackend,
  layout: Layout,
  settings: ShardSettings,
  refs: readonly DirectionRef[],
  results: ShardResult[],
): Promise<CheckOutcome> {
  const merged: MergedResults = mergeShardResults(refs.length, results);
  const analytic = Float64Array.from(refs, (ref) => project(tensorDirection(layout, ref, options.seed), input.analytic));
  const projections = { tensor: Int32Array.from(refs, (ref) => ref.tensor), numeric: merged.numeric, analytic, status: merged.status };

  const noise = measureDirectionalNoise(
    backend,
    layout.tensors.map((_, tensor) => refs.filter((ref) => ref.tensor === tensor).map((ref) => tensorDirection(layout, ref, options.seed))),
    settings,
  );
  const thresholds = thresholdsAboveNoise(THRESHOLDS[input.precision], noise);
  const noiseFloor = gradientNoiseFloor(input.precision, backend.cost);
  const figures = projectionFigures(layout, projections, thresholds, noiseFloor);
  const suspects = layout.tensors.filter((_, tensor) => figures.tensors[tensor].verdict !== "pass");
  const localization = localize(
    backend,
    input.analytic,
    suspects.map((slot) => [slot.offset, slot.offset + slot.size] as [number, number]),
    settings,
    { relative: thresholds.warn, floor: noiseFloor },
  );
  const numeric = new Float64Array(layout.total);
  const status = new Uint8Array(layout.total);
  for (const [index, value] of localization.checked) {
    numeric[index] = value.numeric;
    status[index] = value.status;
  }
  const perDerivative = evaluationsPerDerivative(options.richardson);
  const report = buildReport({
    layout,
    input,
    options,
    results: { numeric, status },
    cost: backend.cost,
    noise,
    costEvaluations: refs.length * perDerivative + noise.evaluations + localization.evaluations,
    directional: { projections, localization },
  });
  return { report, results: { numeric, status } };
}

function maxAbs(values: Float64Array): number {
  let max = 0;
  for (const value of values) max = Math.max(max, Math.abs(value));
  return max;
}
