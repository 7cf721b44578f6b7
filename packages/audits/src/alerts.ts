import { NonFiniteValueError } from "@gradcheck/checkpoint";
import type { AlertKind, Regression, Report } from "@gradcheck/contracts";
import { regressionsOf } from "./regression.js";

/** An alert to raise: its kind and what it says. */
export interface AlertDraft {
  readonly kind: AlertKind;
  readonly message: string;
  readonly regressions: readonly Regression[];
}

/** The run's previous checked checkpoint, to compare with. */
export interface PreviousCheck {
  readonly id: string;
  readonly step: number | null;
  readonly report: Report;
}

const scientific = (value: number) => value.toExponential(2);
const at = (step: number | null) => (step === null ? "at an unknown step" : `at step ${step}`);

/** The alerts a finished check raises: on a fail, on outliers, and on a regression since `previous`. */
export function alertsForCheck(report: Report, step: number | null, previous: PreviousCheck | null, factor: number, alertOn: readonly AlertKind[]): AlertDraft[] {
  const drafts: AlertDraft[] = [];
  if (report.verdict === "fail") {
    const failing = report.tensors.filter((tensor) => tensor.verdict === "fail").map((tensor) => tensor.name);
    const cause = report.diagnosis[0]?.message;
    drafts.push({
      kind: "fail",
      message: `gradient check failed ${at(step)}: relative difference ${scientific(report.relativeDifference)} (${failing.join(", ") || "overall"})${cause ? `; ${cause}` : ""}`,
      regressions: [],
    });
  }
  if (report.coordinates.outliers > 0) {
    const where = report.tensors.filter((tensor) => tensor.outliers.count > 0).map((tensor) => `${tensor.name} (${tensor.outliers.count})`);
    drafts.push({ kind: "outlier", message: `${report.coordinates.outliers} coordinate(s) beyond their tolerance ${at(step)}: ${where.join(", ")}`, regressions: [] });
  }
  if (previous) {
    const regressions = regressionsOf(previous.report.tensors, report.tensors, factor, report.thresholds.pass);
    if (regressions.length) {
      const list = regressions.map((r) => `${r.tensor} ${scientific(r.previous)} → ${scientific(r.current)} (×${r.factor >= 1e6 ? "≥1e6" : r.factor.toPrecision(3)})`);
      drafts.push({ kind: "regression", message: `relative difference up ×${factor} or more since ${at(previous.step).slice(3)}, ${at(step)}: ${list.join("; ")}`, regressions });
    }
  }
  return drafts.filter((draft) => alertOn.includes(draft.kind));
}

/**
 * Why a checkpoint cannot be checked, as an audit records it: "diverged at step 1200: NaN in
 * W1[0,0]" for a non-finite value, else the loader's own message.
 */
export function refusalOf(error: Error, step: number | null): { kind: "diverged" | "refused"; reason: string } {
  if (error instanceof NonFiniteValueError) return { kind: "diverged", reason: `diverged ${at(step)}: ${error.value} in ${error.tensor}${error.index}` };
  return { kind: "refused", reason: `cannot be checked: ${error.message}` };
}
