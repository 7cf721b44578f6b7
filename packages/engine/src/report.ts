import {
  AUTO_STEP_BASE,
  compareGradients,
  coordinateName,
  CoordinateStatus,
  diagnose,
  directionalSmallestError,
  measuredThresholds,
  multiIndex,
  relativeDifference,
  ROUNDING_SAFETY,
  sampleSensitivity,
  suspicionThreshold,
  ScreenOutcome,
  THRESHOLDS,
  UNIT_ROUNDOFF,
  verdictOf,
  WARN_OVER_PASS,
  withOutliers,
  worstVerdict,
  type GradientComparison,
  type Layout,
  type Outlier,
  type TensorSlot,
  type Thresholds,
  type Verdict,
} from "@gradcheck/core";
import type { ComputeSummary, Report, Sensitivity, TensorOutliers, Warning } from "@gradcheck/contracts";
import type { BackendUsage, MergedResults } from "./aggregate.js";
import type { CheckInput, CheckOptions } from "./check-input.js";
import { batchSizeOf, keepProbOf, lambdaOf, modelNameOf, tensorRolesOf } from "./checked-model.js";
import type { Localization } from "./localize.js";
import { noiseThresholds, type NoiseEstimate } from "./noise.js";
import type { MeasuredRounding } from "./rounding.js";

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
  readonly rounding: MeasuredRounding;
  /** checkThresholds of the rounding and the noise */
  readonly thresholds: CheckThresholds;
  /** confirmed outliers, and per tensor whether the search for them was complete */
  readonly outliers: { readonly found: readonly Outlier[]; readonly complete: readonly boolean[] };
  readonly costEvaluations: number;
  /** which backends computed the shards */
  readonly backends: readonly BackendUsage[];
  readonly directional?: { readonly projections: Projections; readonly figures: ProjectionFigures; readonly localization: Localization };
}

/** The thresholds a check applies: overall and per tensor, and the floor under relative differences. */
export interface CheckThresholds {
  readonly overall: Thresholds;
  readonly tensors: readonly Thresholds[];
  /** per tensor: above this relative difference directional mode searches it for outliers */
  readonly suspicion: readonly number[];
  /** smallest resolvable gradient per coordinate (gradientNoiseFloor of dθ's arithmetic) */
  readonly floor: number;
  /**
   * per tensor: the least denominator of its relative difference is √k times this, the larger
   * of `floor` and its rounding level over its pass threshold, so that errors at rounding
   * level (a gradient that is zero up to rounding on both sides) stay below pass
   */
  readonly tensorFloors: readonly number[];
  readonly overallFloor: number;
}

/** Measured rounding × ROUNDING_SAFETY passes (WARN_OVER_PASS × that warns), never tighter than the numerical side resolves. */
export function checkThresholds(rounding: MeasuredRounding, noise: NoiseEstimate): CheckThresholds {
  const numerical = noiseThresholds(noise);
  const { tolerance, noiseFloor } = rounding;
  const overall = measuredThresholds(tolerance.overall, numerical, rounding.arithmetic);
  const tensors = tolerance.tensors.map((tensor) => measuredThresholds(tensor.expected, numerical, rounding.arithmetic));
  const floorOf = (roundingLevel: number, pass: number) => Math.max(noiseFloor, pass > 0 ? roundingLevel / pass : 0);
  return {
    overall,
    tensors,
    suspicion: tolerance.tensors.map((tensor) => suspicionThreshold(tensor.expected, numerical)),
    floor: noiseFloor,
    tensorFloors: tolerance.tensors.map((tensor, index) => floorOf(tensor.roundingLevel, tensors[index].pass)),
    overallFloor: floorOf(tolerance.overallRoundingLevel, overall.pass),
  };
}

/** Turns a check's results into the report: metrics, verdicts, outliers, diagnosis and warnings. */
export function buildReport(parts: ReportParts): Report {
  const { layout, input, options, results, noise, rounding, thresholds } = parts;
  const comparison = compareGradients(layout, results.numeric, input.analytic, results.status, {
    thresholds: thresholds.overall,
    tensorThresholds: thresholds.tensors,
    outliers: parts.outliers.found,
    top: options.top,
    noiseFloor: thresholds.floor,
    tensorFloors: thresholds.tensorFloors,
    overallFloor: thresholds.overallFloor,
    screen: results.screen,
  });
  const figures = parts.directional
    ? parts.directional.figures
    : { relativeDifference: comparison.relativeDifference, tensors: comparison.tensors.map((t) => ({ ...t, projections: undefined, kinks: 0 })) };
  const verdicts = figures.tensors.map((tensor, index) => withOutliers(tensor.verdict, comparison.tensors[index].outliers.length));
  let verdict = worstVerdict([verdictOf(figures.relativeDifference, thresholds.overall), ...verdicts]);

  const diagnosis = diagnose({
    layout,
    numeric: results.numeric,
    analytic: input.analytic,
    status: results.status,
    theta: input.theta,
    verdicts,
    roles: tensorRolesOf(input),
    lambda: lambdaOf(input),
    batchSize: batchSizeOf(input),
    keepProb: keepProbOf(input),
    outliers: parts.outliers.found,
    outliersComplete: parts.outliers.complete,
  });

  const warnings = collectWarnings(parts, comparison, thresholds.overall);
  const compared = parts.directional ? parts.directional.projections.status.some((s) => s === CoordinateStatus.checked) : comparison.checked > 0;
  if (!compared) {
    verdict = worstVerdict([verdict, "warn"]);
    warnings.push({ code: "nothing-checked", message: "Nothing could be compared: every coordinate or direction crossed a ReLU kink." });
  }

  const localization = parts.directional?.localization;
  const outlierCount = comparison.tensors.reduce((sum, tensor) => sum + tensor.outliers.length, 0);
  return {
    model: modelNameOf(input),
    verdict,
    relativeDifference: figures.relativeDifference,
    eps: options.eps ?? AUTO_STEP_BASE.float64,
    stepRule: options.eps === undefined ? "auto" : "fixed",
    richardson: options.richardson,
    mode: options.mode,
    seed: options.mode === "full" ? null : options.seed,
    precision: input.precision,
    cost: parts.cost,
    thresholds: { pass: thresholds.overall.pass, warn: thresholds.overall.warn },
    tolerances: {
      arithmetic: rounding.arithmetic,
      studyRuns: rounding.runs,
      expectedRounding: rounding.tolerance.overall,
      safety: ROUNDING_SAFETY,
      warnOverPass: WARN_OVER_PASS,
      coordinateFloor: comparison.coordinateFloor,
    },
    noise: { relative: noise.relative, sampled: noise.sampled },
    costEvaluations: parts.costEvaluations,
    step: input.step,
    coordinates: { total: layout.total, checked: comparison.checked, kinks: comparison.kinks, outliers: outlierCount },
    tensors: comparison.tensors.map((tensor, index) => ({
      name: tensor.name,
      shape: [...tensor.shape],
      relativeDifference: figures.tensors[index].relativeDifference,
      maxAbsError: tensor.maxAbsError,
      verdict: verdicts[index],
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
      tolerance: { ...thresholds.tensors[index], expectedRounding: rounding.tolerance.tensors[index].expected },
      outliers: tensorOutliers(layout.tensors[index], tensor.outliers, parts.outliers.complete[index], options.top),
      sensitivity: sensitivityOf(parts, layout.tensors[index], tensor.checked, thresholds.tensors[index]),
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
    // who checked what, where and when: the edges that know it (CLI, coordinator) fill it in
    provenance: null,
  };
}

function tensorOutliers(slot: TensorSlot, outliers: readonly Outlier[], complete: boolean, top: number): TensorOutliers {
  return {
    count: outliers.length,
    complete,
    worst: outliers.slice(0, Math.max(top, 0)).map(({ flatIndex, numeric, analytic, tolerance, excess }) => ({
      index: multiIndex(slot.shape, flatIndex - slot.offset),
      numeric,
      analytic,
      tolerance,
      excess,
    })),
  };
}

/** What a sample or directional check could have missed in this tensor. */
function sensitivityOf(parts: ReportParts, slot: TensorSlot, checked: number, thresholds: Thresholds): Sensitivity | null {
  if (parts.options.mode === "sample") return { kind: "sample", ...sampleSensitivity(slot.size, checked) };
  if (parts.options.mode !== "directional") return null;
  let squares = 0;
  for (let i = slot.offset; i < slot.offset + slot.size; i++) squares += parts.input.analytic[i] ** 2;
  const norm = Math.sqrt(squares);
  const smallestError = directionalSmallestError(thresholds.pass, norm);
  return { kind: "directional", smallestError, relativeToGradient: norm === 0 ? 0 : smallestError / norm };
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

/** Directional mode's relative differences and verdicts, per tensor and overall. */
export interface ProjectionFigures {
  readonly relativeDifference: number;
  readonly tensors: readonly { relativeDifference: number; verdict: Verdict; projections: number; kinks: number }[];
}

/** Per-tensor and overall relative differences over the directional projections. */
export function projectionFigures(layout: Layout, projections: Projections, thresholds: CheckThresholds): ProjectionFigures {
  const checked = (n: number) => projections.status[n] === CoordinateStatus.checked;
  const tensors = layout.tensors.map((_, tensor) => {
    const mine = (n: number) => projections.tensor[n] === tensor && checked(n);
    const count = projections.tensor.filter((t, n) => t === tensor && checked(n)).length;
    const difference = relativeDifference(projections.numeric, projections.analytic, mine, 0, projections.numeric.length, thresholds.tensorFloors[tensor]);
    return {
      relativeDifference: difference,
      verdict: count === 0 ? ("pass" as const) : verdictOf(difference, thresholds.tensors[tensor]),
      projections: projections.tensor.filter((t) => t === tensor).length,
      kinks: projections.tensor.filter((t, n) => t === tensor && projections.status[n] === CoordinateStatus.kink).length,
    };
  });
  return {
    relativeDifference: relativeDifference(projections.numeric, projections.analytic, checked, 0, projections.numeric.length, thresholds.overallFloor),
    tensors,
  };
}

function collectWarnings(parts: ReportParts, comparison: GradientComparison, thresholds: Thresholds): Warning[] {
  const { input, options, noise, rounding } = parts;
  const table = THRESHOLDS[input.precision];
  const warnings: Warning[] = [...(input.loadWarnings ?? [])];
  const keepProb = keepProbOf(input);
  if (keepProb < 1) {
    warnings.push({
      code: "dropout-disabled",
      message: input.graph
        ? `The model has dropout (p up to ${+(1 - keepProb).toPrecision(6)}); the check ran with it off. Compute dθ in eval mode (model.eval()) or with p = 0, or it cannot match.`
        : `The model uses dropout (keepProb ${keepProb}); the check ran with dropout off. Compute dθ with keepProb = 1 as well, or it cannot match.`,
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
        `thresholds follow what a correct ${input.precision} backprop gets wrong on this batch (${rounding.tolerance.overall.toExponential(1)} overall, measured).`,
    });
  }
  if (rounding.arithmetic !== input.precision) {
    warnings.push({
      code: "float32-arithmetic",
      message: `Every value of dθ is a float32 number although the checkpoint stores ${input.precision}: dθ is held to float32 arithmetic's rounding.`,
    });
  }
  if (thresholds.pass > table.pass && thresholds.pass > ROUNDING_SAFETY * rounding.tolerance.overall) {
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
