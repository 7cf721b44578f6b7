import {
  AUTO_STEP_BASE,
  compareGradients,
  coordinateName,
  CoordinateStatus,
  diagnose,
  gradientNoiseFloor,
  relativeDifference,
  ScreenOutcome,
  THRESHOLDS,
  UNIT_ROUNDOFF,
  verdictOf,
  worstVerdict,
  type GradientComparison,
  type Layout,
  type Thresholds,
} from "@gradcheck/core";
import type { ComputeSummary, Report, Warning } from "@gradcheck/contracts";
import { tensorRoles } from "@gradcheck/models";
import type { BackendUsage, MergedResults } from "./aggregate.js";
import type { CheckInput, CheckOptions } from "./check-input.js";
import type { Localization } from "./localize.js";
import { thresholdsAboveNoise, type NoiseEstimate } from "./noise.js";

/** Directional mode's results: each direction's numerical and analytic projection. */
export interface Projections {
  readonly tensor: Int32Array;
  readonly numeric: Float64Array;
  readonly analytic: Float64Array;
  readonly status: Uint8Array;
}

export interface ReportParts {
  readonly layout: Layout;
  readonly input: CheckInput;
  readonly options: CheckOptions;
  /** θ-sized: the coordinates whose own central difference was computed */
  readonly results: MergedResults;
  readonly cost: number;
  readonly noise: NoiseEstimate;
  readonly costEvaluations: number;
  /** which backends computed the shards */
  readonly backends: readonly BackendUsage[];
  readonly directional?: { readonly projections: Projections; readonly localization: Localization };
}

/** Turns a check's results into the report: metrics, verdicts, diagnosis and warnings. */
export function buildReport(parts: ReportParts): Report {
  const { layout, input, options, results, noise } = parts;
  const table = THRESHOLDS[input.precision];
  const thresholds = thresholdsAboveNoise(table, noise);
  const noiseFloor = gradientNoiseFloor(input.precision, parts.cost);
  const comparison = compareGradients(layout, results.numeric, input.analytic, results.status, {
    thresholds,
    top: options.top,
    noiseFloor,
    screen: results.screen,
  });
  const figures = parts.directional
    ? projectionFigures(layout, parts.directional.projections, thresholds, noiseFloor)
    : { relativeDifference: comparison.relativeDifference, tensors: comparison.tensors.map((t) => ({ ...t, projections: undefined, kinks: 0 })) };
  const verdicts = figures.tensors.map((tensor) => tensor.verdict);
  let verdict = worstVerdict([verdictOf(figures.relativeDifference, thresholds), ...verdicts]);

  const diagnosis = diagnose({
    layout,
    numeric: results.numeric,
    analytic: input.analytic,
    status: results.status,
    theta: input.theta,
    verdicts,
    roles: tensorRoles(input.spec),
    lambda: input.spec.l2,
    batchSize: input.batch.size,
    coordinateTolerance: thresholds.warn,
    coordinateFloor: comparison.coordinateFloor,
    exhaustive: parts.directional?.localization.complete ?? true,
  });

  const warnings = collectWarnings(parts, comparison, thresholds, table);
  const compared = parts.directional ? parts.directional.projections.status.some((s) => s === CoordinateStatus.checked) : comparison.checked > 0;
  if (!compared) {
    verdict = worstVerdict([verdict, "warn"]);
    warnings.push({ code: "nothing-checked", message: "Nothing could be compared: every coordinate or direction crossed a ReLU kink." });
  }

  const localization = parts.directional?.localization;
  return {
    model: input.spec.name,
    verdict,
    relativeDifference: figures.relativeDifference,
    eps: options.eps ?? AUTO_STEP_BASE.float64,
    stepRule: options.eps === undefined ? "auto" : "fixed",
    richardson: options.richardson,
    mode: options.mode,
    seed: options.mode === "full" ? null : options.seed,
    precision: input.precision,
    cost: parts.cost,
    thresholds: { pass: thresholds.pass, warn: thresholds.warn },
    noise: { relative: noise.relative, sampled: noise.sampled },
    costEvaluations: parts.costEvaluations,
    step: input.step,
    coordinates: { total: layout.total, checked: comparison.checked, kinks: comparison.kinks },
    tensors: comparison.tensors.map((tensor, index) => ({
      name: tensor.name,
      shape: [...tensor.shape],
      relativeDifference: figures.tensors[index].relativeDifference,
      maxAbsError: tensor.maxAbsError,
      verdict: figures.tensors[index].verdict,
      size: tensor.size,
      checked: tensor.checked,
      coverage: tensor.size === 0 ? 1 : tensor.checked / tensor.size,
      kinks: tensor.kinks + figures.tensors[index].kinks,
      ...(figures.tensors[index].projections === undefined ? {} : { projections: figures.tensors[index].projections }),
      worst: tensor.worst.map(({ index: at, numeric, analytic, absError, relativeError }) => ({
        index: at,
        numeric,
        analytic,
        absError,
        relativeError,
      })),
    })),
    localization: localization
      ? {
          evaluations: localization.evaluations,
          located: localization.located.map((index) => coordinateName(layout, index)),
          complete: localization.complete,
        }
      : null,
    warnings,
    diagnosis,
    compute: computeSummary(parts.backends, results.screen),
  };
}

function computeSummary(backends: readonly BackendUsage[], screen: Uint8Array | undefined): ComputeSummary {
  const count = (outcome: ScreenOutcome) => screen!.filter((value) => value === outcome).length;
  return {
    backends: backends.map((usage) => ({ ...usage })),
    screen: screen
      ? {
          screened: screen.length - count(ScreenOutcome.float64),
          flagged: count(ScreenOutcome.flagged),
          sampled: count(ScreenOutcome.sampled),
          unconfirmed: count(ScreenOutcome.passed),
        }
      : null,
  };
}

/** Per-tensor and overall relative differences over the directional projections. */
export function projectionFigures(layout: Layout, projections: Projections, thresholds: Thresholds, noiseFloor: number) {
  const checked = (n: number) => projections.status[n] === CoordinateStatus.checked;
  const tensors = layout.tensors.map((_, tensor) => {
    const mine = (n: number) => projections.tensor[n] === tensor && checked(n);
    const count = projections.tensor.filter((t, n) => t === tensor && checked(n)).length;
    const difference = relativeDifference(projections.numeric, projections.analytic, mine, 0, projections.numeric.length, noiseFloor);
    return {
      relativeDifference: difference,
      verdict: count === 0 ? ("pass" as const) : verdictOf(difference, thresholds),
      projections: projections.tensor.filter((t) => t === tensor).length,
      kinks: projections.tensor.filter((t, n) => t === tensor && projections.status[n] === CoordinateStatus.kink).length,
    };
  });
  return {
    relativeDifference: relativeDifference(projections.numeric, projections.analytic, checked, 0, projections.numeric.length, noiseFloor),
    tensors,
  };
}

function collectWarnings(parts: ReportParts, comparison: GradientComparison, thresholds: Thresholds, table: Thresholds): Warning[] {
  const { input, options, noise } = parts;
  const warnings: Warning[] = [...(input.loadWarnings ?? [])];
  if (input.spec.keepProb < 1) {
    warnings.push({
      code: "dropout-disabled",
      message:
        `The model uses dropout (keepProb ${input.spec.keepProb}); the check ran with dropout off. ` +
        "Compute dθ with keepProb = 1 as well, or it cannot match.",
    });
  }
  const directionalKinks = parts.directional?.projections.status.filter((s) => s === CoordinateStatus.kink).length ?? 0;
  if (comparison.kinks + directionalKinks > 0) {
    const what = [comparison.kinks ? `${comparison.kinks} coordinate(s)` : "", directionalKinks ? `${directionalKinks} direction(s)` : ""]
      .filter(Boolean)
      .join(" and ");
    warnings.push({
      code: "kink",
      message: `${what} moved a ReLU pre-activation across its kink at 0 within ±h; their numerical derivative is meaningless, so they are left out of every figure. A smaller --eps leaves out fewer.`,
    });
  }
  if (input.precision !== "F64") {
    warnings.push({
      code: "low-precision",
      message:
        `The checkpoint stores ${input.precision} values (unit roundoff ${UNIT_ROUNDOFF[input.precision].toPrecision(2)}); ` +
        `thresholds are relaxed to pass ≤ ${table.pass}, warn ≤ ${table.warn}.`,
    });
  }
  if (thresholds.pass > table.pass) {
    warnings.push({
      code: "thresholds-raised",
      message: `The numerical estimate itself moves by ${noise.relative.toExponential(1)} when h is halved, so thresholds were raised to pass ≤ ${thresholds.pass.toExponential(1)}, warn ≤ ${thresholds.warn.toExponential(1)}. A smaller --eps or --richardson helps.`,
    });
  }
  if (options.mode === "sample") {
    warnings.push({
      code: "partial-coverage",
      message: `Sample mode checked ${comparison.checked + comparison.kinks} of ${parts.layout.total} coordinates (up to ${options.samples} per tensor, seed ${options.seed}); a bug confined to unsampled coordinates can go unseen.`,
    });
  }
  if (parts.directional && !parts.directional.localization.complete) {
    warnings.push({
      code: "localization-incomplete",
      message: "More coordinates disagree than localization lists: the error is widespread, so a full or sampled check shows it better.",
    });
  }
  if (input.step === null) {
    warnings.push({
      code: "step-unknown",
      message: 'The checkpoint has no "step" in its metadata; record it so that checks at initialization and after training can be told apart.',
    });
  }
  return warnings;
}
