import type { Thresholds } from "@gradcheck/core";
import pc from "picocolors";

const LEVELS = "▁▂▃▄▅▆▇█";
const CELLS = 32;
/** Errors from 1e-16 (flat) up to 1 (full block), on a log scale. */
const FLOOR_EXPONENT = -16;

/**
 * One line per tensor: each cell is the worst per-coordinate error over a band of rows (output
 * units or channels; or elements of a vector), so a bad row shows as a tall, red cell, like a stripe in the HTML heatmap.
 */
export function errorStrip(shape: readonly number[], errors: Float64Array, thresholds: Thresholds): string {
  // a row per output unit or channel: [out, in] and [out, in, k, k] alike
  const rows = shape.length >= 2 ? shape[0] : errors.length;
  const perRow = shape.length >= 2 ? errors.length / shape[0] : 1;
  const cells = Math.min(CELLS, rows);
  let line = "";
  for (let cell = 0; cell < cells; cell++) {
    const from = Math.floor((cell * rows) / cells);
    const to = Math.floor(((cell + 1) * rows) / cells);
    let worst = NaN;
    for (let i = from * perRow; i < to * perRow; i++) {
      const error = errors[i];
      if (!Number.isNaN(error) && (Number.isNaN(worst) || error > worst)) worst = error;
    }
    line += cellFor(worst, thresholds);
  }
  return line;
}

function cellFor(error: number, thresholds: Thresholds): string {
  if (Number.isNaN(error)) return pc.dim("·");
  const exponent = Math.log10(Math.max(error, 10 ** FLOOR_EXPONENT));
  const level = Math.min(LEVELS.length - 1, Math.floor(((exponent - FLOOR_EXPONENT) / -FLOOR_EXPONENT) * LEVELS.length));
  const glyph = LEVELS[Math.max(0, level)];
  if (error > thresholds.warn) return pc.red(glyph);
  return error > thresholds.pass ? pc.yellow(glyph) : pc.green(glyph);
}
