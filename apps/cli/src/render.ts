import type { Provenance, Report, Verdict } from "@gradcheck/contracts";
import Table from "cli-table3";
import pc from "picocolors";
import type { CoordinateErrors } from "./html/html-report.js";
import { formatCompact, formatGrouped, formatNumber, formatTime } from "./format.js";
import { outlierCount, outliersWorstFirst, sensitivityText, toleranceBasis } from "./report-text.js";
import { errorStrip } from "./strip.js";

export const VERDICT_STYLE: Readonly<Record<Verdict, (text: string) => string>> = {
  pass: (text) => pc.green(text),
  warn: (text) => pc.yellow(text),
  fail: (text) => pc.red(text),
};
const VERDICT_MARK: Readonly<Record<Verdict, string>> = { pass: "✔ PASS", warn: "▲ WARN", fail: "✖ FAIL" };

/** Tables without a rule between every row. */
export const TABLE_CHARS = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };

/** Where the derivatives came from, when not from the float64 cpu backend alone. */
function screenSummary(report: Report): string {
  const { backends, screen } = report.compute;
  const screens = backends.filter((usage) => usage.precision === "float32");
  if (!screen || screens.length === 0) return "";
  const confirmed = screen.flagged + screen.sampled;
  const where = screens.map((usage) => `${usage.name} ${usage.mode}`).join(", ");
  return (
    `float32 screen on ${where}: ${formatGrouped(confirmed)} of ${formatGrouped(screen.screened)} recomputed in float64 ` +
    `(${formatGrouped(screen.flagged)} flagged, ${formatGrouped(screen.sampled)} sampled)`
  );
}

/** What was checked, in which run, when, by which gradcheck and where: one line. */
function provenanceLine(provenance: Provenance): string {
  const { checkpoint } = provenance;
  const file = checkpoint.file ? `${checkpoint.file} ` : "";
  return `${file}(sha256 ${checkpoint.sha256.slice(0, 12)}) · run ${provenance.run} · checked ${formatTime(provenance.checkedAt)} UTC by gradcheck ${provenance.gradcheck} on ${provenance.host} (${provenance.backend})`;
}

/** The report as a person reads it on a terminal; with per-coordinate errors, each tensor gets an error strip. */
export function renderReport(report: Report, coordinateErrors?: readonly CoordinateErrors[]): string {
  const lines: string[] = [];
  const step = report.step === null ? "step unknown" : report.step === 0 ? "step 0 (initialization)" : `step ${formatGrouped(report.step)}`;
  lines.push(
    pc.bold(`gradcheck · ${report.model}`) +
      pc.dim(` · ${step} · ${report.precision} · ${formatGrouped(report.coordinates.total)} coordinates`),
  );
  const how = [
    `${report.mode} mode${report.seed === null ? "" : ` (seed ${report.seed})`}`,
    report.mode === "directional"
      ? report.stepRule === "auto"
        ? `h = ${formatCompact(report.eps)}·max(1, max|θ|) along unit directions`
        : `h = ${formatCompact(report.eps)} along unit directions`
      : report.stepRule === "auto"
        ? `h = ${formatCompact(report.eps)}·max(1, |θ_i|)`
        : `h = ${formatCompact(report.eps)}`,
    report.richardson ? "Richardson" : "",
    `${formatGrouped(report.costEvaluations)} cost evaluations`,
    `numerical noise ${formatCompact(report.noise.relative)}`,
    screenSummary(report),
  ].filter(Boolean);
  lines.push(pc.dim(how.join(" · ")));
  if (report.provenance) lines.push(pc.dim(provenanceLine(report.provenance)));
  const compared =
    report.mode === "directional"
      ? `${formatGrouped(report.tensors.reduce((sum, tensor) => sum + (tensor.projections ?? 0), 0))} directions`
      : `${formatGrouped(report.coordinates.checked)} checked`;
  lines.push("");
  lines.push(
    `${VERDICT_STYLE[report.verdict](pc.bold(VERDICT_MARK[report.verdict]))}  relative difference ${pc.bold(formatNumber(report.relativeDifference))}` +
      pc.dim(
        `   (pass ≤ ${formatCompact(report.thresholds.pass)}, fail > ${formatCompact(report.thresholds.warn)}; ${compared}, ` +
          `${formatGrouped(report.coordinates.kinks)} kinks, ${formatGrouped(report.coordinates.outliers)} outliers)`,
      ),
  );
  const basis = toleranceBasis(report);
  if (basis) lines.push(pc.dim(basis));
  lines.push("");

  const directional = report.mode === "directional";
  const sampled = report.mode === "sample";
  const strips = coordinateErrors && !directional;
  const head = ["tensor", "shape"];
  if (directional) head.push("directions");
  if (sampled) head.push("coverage");
  head.push("rel. difference");
  if (!directional) head.push("max |error|");
  head.push("pass ≤", "outliers", "kinks", "verdict");
  if (strips) head.push("worst error by row (log scale)");
  const numericColumns = new Set(["directions", "coverage", "rel. difference", "max |error|", "pass ≤", "outliers", "kinks"]);
  const table = new Table({
    head,
    style: { head: [], border: [] },
    chars: TABLE_CHARS,
    colAligns: head.map((title) => (numericColumns.has(title) ? "right" : "left")),
  });
  for (const [index, tensor] of report.tensors.entries()) {
    const cells = [tensor.name, `[${tensor.shape.join(",")}]`];
    if (directional) cells.push(String(tensor.projections ?? 0));
    if (sampled) cells.push(`${(100 * tensor.coverage).toFixed(tensor.coverage < 0.1 ? 2 : 0)}%`);
    const compared = directional ? (tensor.projections ?? 0) > tensor.kinks : tensor.checked > 0;
    cells.push(compared ? formatNumber(tensor.relativeDifference) : pc.dim("— nothing compared"));
    if (!directional) cells.push(formatNumber(tensor.maxAbsError));
    const outliers = outlierCount(tensor);
    cells.push(tensor.tolerance ? formatCompact(tensor.tolerance.pass) : "—", outliers ? pc.red(outliers) : pc.dim("0"));
    cells.push(String(tensor.kinks), VERDICT_STYLE[tensor.verdict](tensor.verdict));
    if (strips) cells.push(errorStrip(tensor.shape, coordinateErrors[index].errors, tensor.tolerance ?? report.thresholds));
    table.push(cells);
  }
  lines.push(table.toString());

  const missed = report.tensors.map((tensor) => [tensor.name, sensitivityText(tensor)] as const).filter(([, text]) => text);
  if (missed.length > 0) {
    lines.push("");
    lines.push(pc.bold(directional ? "What the directions could miss" : "What the sample could miss"));
    for (const [name, text] of missed) lines.push(`  ${name}: ${pc.dim(text)}`);
  }

  const outliers = outliersWorstFirst(report);
  if (outliers.length > 0) {
    lines.push("");
    lines.push(pc.bold("Outliers") + pc.dim("  (beyond their own tolerance: rounding of a correct backprop plus the numerical error, with margin)"));
    const outlierTable = new Table({
      head: ["coordinate", "numeric (h/2)", "analytic", "tolerance", "× over"],
      style: { head: [], border: [] },
      chars: TABLE_CHARS,
      colAligns: ["left", "right", "right", "right", "right"],
    });
    for (const o of outliers) {
      outlierTable.push([o.name, formatNumber(o.numeric), formatNumber(o.analytic), formatNumber(o.tolerance), formatNumber(o.excess)]);
    }
    lines.push(outlierTable.toString());
  }

  if (report.localization && (report.localization.located.length > 0 || !report.localization.complete)) {
    lines.push("");
    lines.push(pc.bold("Localization"));
    lines.push(
      `  ${report.localization.located.length ? report.localization.located.join(", ") : "nothing narrowed down"}` +
        pc.dim(` (group testing, ${formatGrouped(report.localization.evaluations)} cost evaluations${report.localization.complete ? "" : "; stopped early: the error is widespread"})`),
    );
  }

  const worst = report.tensors
    .flatMap((tensor) => tensor.worst.map((coordinate) => ({ tensor: tensor.name, ...coordinate })))
    .sort((a, b) => b.relativeError - a.relativeError || b.absError - a.absError)
    .slice(0, Math.max(...report.tensors.map((tensor) => tensor.worst.length), 0));
  if (report.verdict !== "pass" && worst.length > 0) {
    lines.push("");
    lines.push(pc.bold("Worst coordinates"));
    const worstTable = new Table({
      head: ["coordinate", "numeric", "analytic", "|error|", "rel. error"],
      style: { head: [], border: [] },
      chars: TABLE_CHARS,
      colAligns: ["left", "right", "right", "right", "right"],
    });
    for (const c of worst) {
      worstTable.push([
        `${c.tensor}[${c.index.join(",")}]`,
        formatNumber(c.numeric),
        formatNumber(c.analytic),
        formatNumber(c.absError),
        formatNumber(c.relativeError),
      ]);
    }
    lines.push(worstTable.toString());
  }

  if (report.diagnosis.length > 0) {
    lines.push("");
    lines.push(pc.bold("Diagnosis"));
    for (const finding of report.diagnosis) lines.push(`  • ${finding.message}`);
  }
  if (report.warnings.length > 0) {
    lines.push("");
    lines.push(pc.bold("Warnings"));
    for (const warning of report.warnings) lines.push(`  ${pc.yellow("!")} ${pc.dim(`[${warning.code}]`)} ${warning.message}`);
  }
  return lines.join("\n");
}
