import {
  compareGradients,
  diagnose,
  gradientNoiseFloor,
  THRESHOLDS,
  UNIT_ROUNDOFF,
  worstVerdict,
  type Layout,
} from "@gradcheck/core";
import { tensorRoles } from "@gradcheck/models";
import type { Report, Warning } from "@gradcheck/contracts";
import type { CheckInput, CheckOptions } from "./check-input.js";
import type { MergedResults } from "./aggregate.js";

/** Turns merged shard results into the report: metrics, verdicts and warnings. */
export function buildReport(
  layout: Layout,
  input: CheckInput,
  options: CheckOptions,
  results: MergedResults,
  cost: number,
): Report {
  const thresholds = THRESHOLDS[input.precision];
  const comparison = compareGradients(layout, results.numeric, input.analytic, results.status, {
    thresholds,
    top: options.top,
    noiseFloor: gradientNoiseFloor(input.precision, cost),
  });
  const warnings: Warning[] = [...(input.loadWarnings ?? [])];
  if (input.spec.keepProb < 1) {
    warnings.push({
      code: "dropout-disabled",
      message:
        `The model uses dropout (keepProb ${input.spec.keepProb}); the check ran with dropout off. ` +
        "Compute dθ with keepProb = 1 as well, or it cannot match.",
    });
  }
  if (comparison.kinks > 0) {
    warnings.push({
      code: "kink",
      message:
        `${comparison.kinks} coordinate(s) moved a ReLU pre-activation across its kink at 0 with a step of ±${options.eps}; ` +
        "their numerical derivative is meaningless, so they are left out of every figure. A smaller --eps leaves out fewer.",
    });
  }
  if (input.precision !== "F64") {
    warnings.push({
      code: "low-precision",
      message:
        `The checkpoint stores ${input.precision} values (unit roundoff ${UNIT_ROUNDOFF[input.precision].toPrecision(2)}); ` +
        `thresholds are relaxed to pass ≤ ${thresholds.pass}, warn ≤ ${thresholds.warn}.`,
    });
  }
  if (input.step === null) {
    warnings.push({
      code: "step-unknown",
      message: 'The checkpoint has no "step" in its metadata; record it so that checks at initialization and after training can be told apart.',
    });
  }
  const diagnosis = diagnose({
    layout,
    numeric: results.numeric,
    analytic: input.analytic,
    status: results.status,
    theta: input.theta,
    verdicts: comparison.tensors.map((tensor) => tensor.verdict),
    roles: tensorRoles(input.spec),
    lambda: input.spec.l2,
    batchSize: input.batch.size,
    coordinateTolerance: thresholds.warn,
    coordinateFloor: comparison.coordinateFloor,
  });
  let verdict = comparison.verdict;
  if (comparison.checked === 0) {
    verdict = worstVerdict([verdict, "warn"]);
    warnings.push({ code: "nothing-checked", message: "No coordinate could be checked: every one crossed a ReLU kink." });
  }
  return {
    model: input.spec.name,
    verdict,
    relativeDifference: comparison.relativeDifference,
    eps: options.eps,
    mode: "full",
    precision: input.precision,
    thresholds: { pass: thresholds.pass, warn: thresholds.warn },
    step: input.step,
    coordinates: { total: layout.total, checked: comparison.checked, kinks: comparison.kinks },
    tensors: comparison.tensors.map((tensor) => ({
      name: tensor.name,
      shape: [...tensor.shape],
      relativeDifference: tensor.relativeDifference,
      maxAbsError: tensor.maxAbsError,
      verdict: tensor.verdict,
      checked: tensor.checked,
      kinks: tensor.kinks,
      worst: tensor.worst.map(({ index, numeric, analytic, absError, relativeError }) => ({
        index,
        numeric,
        analytic,
        absError,
        relativeError,
      })),
    })),
    warnings,
    diagnosis,
  };
}
