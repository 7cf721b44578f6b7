import type { Outlier, Report, TensorReport } from "@gradcheck/contracts";
import { formatCompact, formatGrouped } from "./format.js";

/** Sentences the terminal and the HTML report share, so that both say the same thing. */

/** What the thresholds were based on; empty for reports recorded before tolerances were measured. */
export function toleranceBasis(report: Report): string {
  const tolerances = report.tolerances;
  if (!tolerances) return "";
  const perCoordinate = "Every coordinate is also held to its own tolerance: one beyond it is an outlier and fails its tensor.";
  if (tolerances.studyRuns === 0) {
    return `Thresholds follow the numerical noise: float64 rounding (bounded per coordinate) lies far below it. ${perCoordinate}`;
  }
  const arithmetic = tolerances.arithmetic === report.precision ? tolerances.arithmetic : `${tolerances.arithmetic} (dθ holds float32 values)`;
  return (
    `Thresholds measured on this batch: a correct ${arithmetic} backprop differs by ${formatCompact(tolerances.expectedRounding)} overall ` +
    `(${tolerances.studyRuns} emulated run${tolerances.studyRuns === 1 ? "" : "s"}); ${tolerances.safety}× that passes, ` +
    `${tolerances.safety * tolerances.warnOverPass}× fails, never below the numerical noise. ${perCoordinate}`
  );
}

/** A tensor's outlier count: "2", "≥ 256" when the search was capped, "" when none. */
export function outlierCount(tensor: TensorReport): string {
  const { count, complete } = tensor.outliers;
  if (count === 0 && complete) return "";
  return complete ? formatGrouped(count) : `≥ ${formatGrouped(count)}`;
}

/** What a sample or directional check could have missed in a tensor; empty in full mode. */
export function sensitivityText(tensor: TensorReport): string {
  const sensitivity = tensor.sensitivity;
  if (!sensitivity) return "";
  if (sensitivity.kind === "sample") {
    if (sensitivity.escapesBelow <= 1) return "every coordinate checked";
    return (
      `a bug in fewer than ${formatGrouped(sensitivity.escapesBelow)} coordinates escapes with probability ≥ 50%; ` +
      `one in ${formatGrouped(sensitivity.caughtFrom)} or more is caught with ≥ 95%`
    );
  }
  return `an error of norm below ${formatCompact(sensitivity.smallestError)} (${formatCompact(sensitivity.relativeToGradient)} of ‖dθ‖) can pass`;
}

/** Every tensor's listed outliers, named, furthest over their tolerance first. */
export function outliersWorstFirst(report: Report): (Outlier & { readonly name: string })[] {
  return report.tensors
    .flatMap((tensor) => tensor.outliers.worst.map((outlier) => ({ name: `${tensor.name}[${outlier.index.join(",")}]`, ...outlier })))
    .sort((a, b) => b.excess - a.excess);
}
