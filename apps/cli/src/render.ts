import type { Report, Verdict } from "@gradcheck/contracts";
import Table from "cli-table3";
import pc from "picocolors";

const VERDICT_STYLE: Readonly<Record<Verdict, (text: string) => string>> = {
  pass: (text) => pc.green(text),
  warn: (text) => pc.yellow(text),
  fail: (text) => pc.red(text),
};
const VERDICT_MARK: Readonly<Record<Verdict, string>> = { pass: "✔ PASS", warn: "▲ WARN", fail: "✖ FAIL" };

export const formatNumber = (value: number): string =>
  value === 0 ? "0" : Math.abs(value) >= 1e-3 && Math.abs(value) < 1e4 ? value.toPrecision(4) : value.toExponential(2);

const grouped = (value: number): string => value.toLocaleString("en-US");
/** Short form for steps and thresholds: 1e-6, not 0.000001. */
const compact = (value: number): string => (value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential() : String(value));
/** Tables without a rule between every row. */
const TABLE_CHARS = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };

/** The report as a person reads it on a terminal. */
export function renderReport(report: Report): string {
  const lines: string[] = [];
  const step = report.step === null ? "step unknown" : report.step === 0 ? "step 0 (initialization)" : `step ${grouped(report.step)}`;
  lines.push(
    pc.bold(`gradcheck · ${report.model}`) +
      pc.dim(` · ${step} · ${report.precision} · ${grouped(report.coordinates.total)} coordinates · eps ${compact(report.eps)}`),
  );
  lines.push("");
  lines.push(
    `${VERDICT_STYLE[report.verdict](pc.bold(VERDICT_MARK[report.verdict]))}  relative difference ${pc.bold(formatNumber(report.relativeDifference))}` +
      pc.dim(`   (pass ≤ ${compact(report.thresholds.pass)}, fail > ${compact(report.thresholds.warn)}; ${grouped(report.coordinates.checked)} checked, ${grouped(report.coordinates.kinks)} kinks)`),
  );
  lines.push("");

  const table = new Table({
    head: ["tensor", "shape", "rel. difference", "max |error|", "kinks", "verdict"],
    style: { head: [], border: [] },
    chars: TABLE_CHARS,
    colAligns: ["left", "left", "right", "right", "right", "left"],
  });
  for (const tensor of report.tensors) {
    table.push([
      tensor.name,
      `[${tensor.shape.join(",")}]`,
      formatNumber(tensor.relativeDifference),
      formatNumber(tensor.maxAbsError),
      String(tensor.kinks),
      VERDICT_STYLE[tensor.verdict](tensor.verdict),
    ]);
  }
  lines.push(table.toString());

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
