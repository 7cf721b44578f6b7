import { coordinateFloor, coordinateRelativeErrors, gradientNoiseFloor, ScreenOutcome } from "@gradcheck/core";
import type { Report } from "@gradcheck/contracts";
import { layoutOf, type CheckInput, type MergedResults } from "@gradcheck/engine";
import type { CoordinateErrors } from "./html/html-report.js";

/**
 * Per-coordinate relative errors of every tensor: the HTML heatmaps and the terminal strips.
 * Coordinates that passed a float32 screen unconfirmed are left blank (NaN), as unchecked
 * ones are: their float32 noise is not an error of the gradient.
 */
export function coordinateErrorsFor(input: CheckInput, report: Report, results: MergedResults): CoordinateErrors[] {
  // The report's own floor, so that maps and strips rank coordinates as the report does.
  const floor = report.tolerances?.coordinateFloor ?? coordinateFloor(results.numeric, input.analytic, results.status, gradientNoiseFloor(input.precision, report.cost));
  const errors = coordinateRelativeErrors(results.numeric, input.analytic, results.status, floor);
  results.screen?.forEach((outcome, index) => {
    if (outcome === ScreenOutcome.passed) errors[index] = NaN;
  });
  return layoutOf(input).tensors.map((slot) => ({
    name: slot.name,
    shape: [...slot.shape],
    errors: errors.slice(slot.offset, slot.offset + slot.size),
  }));
}
