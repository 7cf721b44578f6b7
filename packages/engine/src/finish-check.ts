import { evaluationsPerDerivative, type PerturbedCostBackend } from "@gradcheck/compute";
import type { Report } from "@gradcheck/contracts";
import { backendUsage, mergeShardResults, scatterToTheta, type MergedResults } from "./aggregate.js";
import type { CheckInput, CheckOptions } from "./check-input.js";
import type { CheckPlan } from "./check-plan.js";
import { fullCostOf } from "./checked-model.js";
import { assertDeterministicCost, assertFiniteCost } from "./determinism.js";
import { project, tensorDirection } from "./directions.js";
import { localize } from "./localize.js";
import { DIRECTIONAL_NOISE_SAMPLE, measureCoordinateNoise, measureDirectionalNoise } from "./noise.js";
import { findOutliers } from "./outliers.js";
import { buildReport, checkThresholds, projectionFigures } from "./report.js";
import { measureRounding } from "./rounding.js";
import type { ShardResult } from "./shard.js";

/** A check's report, and the per-coordinate results behind it (for heatmaps). */
export interface CheckOutcome {
  readonly report: Report;
  /** θ-sized: numerical derivatives of the coordinates checked one by one, and their status */
  readonly results: MergedResults;
}

/** Refuses a cost that no derivative can be checked against: infinite, or not a function of θ. */
export function assertCheckableCost(input: CheckInput, backend: PerturbedCostBackend): void {
  assertFiniteCost(backend.cost);
  assertDeterministicCost(() => fullCostOf(input), backend.cost);
}

/**
 * The aggregator: merges every shard's results (refusing gaps and double counting), measures
 * the noise and the rounding a correct backprop makes, confirms outliers, localizes in
 * directional mode, and builds the report. The CLI and the cluster's aggregation job both end
 * here, so a check gives the same report wherever it ran.
 */
export function finishCheck(
  input: CheckInput,
  options: CheckOptions,
  plan: CheckPlan,
  backend: PerturbedCostBackend,
  shardResults: readonly ShardResult[],
): CheckOutcome {
  const merged = mergeShardResults(plan.items, shardResults);
  const backends = backendUsage(shardResults);
  const perDerivative = evaluationsPerDerivative(options.richardson);
  const { layout, settings } = plan;
  const rounding = measureRounding(input, layout, backend.cost);
  if (plan.coordinates) {
    const noise = measureCoordinateNoise(backend, layout, plan.coordinates, settings);
    const thresholds = checkThresholds(rounding, noise);
    const results = scatterToTheta(layout.total, plan.coordinates, merged);
    const search = findOutliers(backend, layout, results, input.analytic, rounding.tolerance, noise, settings);
    const report = buildReport({
      layout,
      input,
      options,
      results,
      cost: backend.cost,
      noise,
      rounding,
      thresholds,
      outliers: { found: search.outliers, complete: Array.from(search.unconfirmed, (count) => count === 0) },
      costEvaluations: plan.items * perDerivative + noise.evaluations + search.evaluations,
      backends,
    });
    return { report, results };
  }

  // Directional mode: random unit directions over each tensor compare (J(θ + h·v) − J(θ − h·v))/2h
  // with v·dθ; tensors that disagree are then narrowed down to coordinates by group testing.
  const refs = plan.directions!;
  const analytic = Float64Array.from(refs, (ref) => project(tensorDirection(layout, ref, options.seed), input.analytic));
  const projections = { tensor: Int32Array.from(refs, (ref) => ref.tensor), numeric: merged.numeric, analytic, status: merged.status };
  const noise = measureDirectionalNoise(
    backend,
    layout.tensors.map((_, tensor) => refs.filter((ref) => ref.tensor === tensor).slice(0, DIRECTIONAL_NOISE_SAMPLE).map((ref) => tensorDirection(layout, ref, options.seed))),
    settings,
  );
  const thresholds = checkThresholds(rounding, noise);
  const figures = projectionFigures(layout, projections, thresholds);
  // A tensor above its suspicion threshold is searched, with that threshold as the test of every part of it.
  const suspects = layout.tensors.flatMap((slot, tensor) => {
    const suspicion = thresholds.suspicion[tensor];
    const range = { start: slot.offset, end: slot.offset + slot.size, relative: suspicion, floor: thresholds.tensorFloors[tensor] };
    return figures.tensors[tensor].relativeDifference > suspicion ? [range] : [];
  });
  const localization = localize(backend, input.analytic, suspects, settings, rounding.tolerance);
  const numeric = new Float64Array(layout.total);
  const status = new Uint8Array(layout.total);
  for (const [index, value] of localization.checked) {
    numeric[index] = value.numeric;
    status[index] = value.status;
  }
  const report = buildReport({
    layout,
    input,
    options,
    results: { numeric, status },
    cost: backend.cost,
    noise,
    rounding,
    thresholds,
    outliers: { found: localization.outliers, complete: layout.tensors.map(() => localization.complete) },
    costEvaluations: refs.length * perDerivative + noise.evaluations + localization.evaluations,
    backends,
    directional: { projections, figures, localization },
  });
  return { report, results: { numeric, status } };
}
