/** Numbers as the terminal report, the HTML report and the history print them. */

/** 4 significant digits in the readable range, 2-digit scientific notation outside it. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "—";
  if (value === 0) return "0";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "−∞";
  const magnitude = Math.abs(value);
  return magnitude >= 1e-3 && magnitude < 1e4 ? String(Number(value.toPrecision(4))) : value.toExponential(2);
}

/** Short form for steps and thresholds, to 3 significant digits: 1e-6, not 0.000001. */
export function formatCompact(value: number): string {
  const rounded = Number(value.toPrecision(3));
  return rounded !== 0 && Math.abs(rounded) < 1e-3 ? rounded.toExponential() : String(rounded);
}

export const formatGrouped = (value: number): string => value.toLocaleString("en-US");

/** A time in UTC to the second, `2026-12-03 10:00:00`, from a Date or an ISO 8601 string in UTC. */
export const formatTime = (time: Date | string): string => (typeof time === "string" ? time : time.toISOString()).replace("T", " ").slice(0, 19);
