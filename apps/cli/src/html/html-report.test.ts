import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Report } from "@gradcheck/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatCompact, formatNumber } from "../format.js";
import { escapeHtml } from "./format.js";
import { renderHtmlReport, WORST_SHOWN, type CoordinateErrors } from "./html-report.js";
import { failingCheck, type FailingCheck } from "./test-support/failing-check.js";
import { writeHtmlReport } from "./write-html-report.js";

const EVIL_NAME = "<img src=x onerror=alert(1)>";

const SPEC = {
  name: EVIL_NAME,
  inputSize: 6,
  layers: [
    { units: 8, activation: "tanh" },
    { units: 8, activation: "relu" },
    { units: 3, activation: "softmax" },
  ],
  loss: "cross-entropy",
  l2: 0.2,
};

/** The page up to its scripts: what a person reads (the inlined ECharts is 1 MB of noise for a diff). */
const markupOf = (html: string): string => html.slice(0, html.indexOf("<script"));

/** The JSON the page's script reads, parsed back. */
function pageData(html: string): {
  tensors: { names: string[]; values: number[] } | null;
  heatmaps: { id: string; name: string; rows: number; columns: number; columnBlock: number; values: (number | null)[] }[];
} {
  const match = /<script type="application\/json" id="gradcheck-data">([\s\S]*?)<\/script>/.exec(html);
  expect(match, "data element").not.toBeNull();
  return JSON.parse((match as RegExpExecArray)[1]);
}

describe("renderHtmlReport", () => {
  let failing: FailingCheck;
  let passing: FailingCheck;
  let html: string;
  let markup: string;

  beforeAll(async () => {
    failing = await failingCheck(SPEC, {
      fault: { kind: "shifted-rows", layer: 2 },
      badColumn: { layer: 1, column: 3, factor: 1.5 },
    });
    passing = await failingCheck({ ...SPEC, name: "healthy-mlp" }, {}, { step: null });
    html = renderHtmlReport(failing.report, failing.coordinateErrors);
    markup = markupOf(html);
  });

  it("is one self-contained page that loads nothing from the network", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(markup).toContain('<meta charset="utf-8">');
    expect(markup).toMatch(/Content-Security-Policy" content="default-src 'none'/);
    const lower = html.toLowerCase();
    for (const reference of ["<script src", "<link", 'src="http', 'href="http', "@import"]) {
      expect(lower.includes(reference.toLowerCase()), reference).toBe(false);
    }
    // The three scripts: the data, ECharts inlined, the page's own.
    expect(html.match(/<script\b/g)).toHaveLength(3);
    expect(html.includes("t.version=\"6.1.0\"")).toBe(true); // ECharts itself, inlined
    expect(html.length).toBeGreaterThan(500_000);
  });

  it("escapes the model name everywhere", () => {
    expect(html.includes(EVIL_NAME)).toBe(false);
    expect(markup).not.toContain("<img");
    expect(markup).toContain(`<h1>${escapeHtml(EVIL_NAME)}</h1>`);
    expect(markup).toContain(`<title>gradcheck · ${escapeHtml(EVIL_NAME)} · FAIL</title>`);
  });

  it("cannot be broken out of by a tensor name inside the chart data", () => {
    const name = "</script><script>alert(1)</script>";
    const errors: CoordinateErrors = { name, shape: [2, 2], errors: new Float64Array([1e-9, 1e-3, NaN, 0]) };
    const page = renderHtmlReport({ ...failing.report, tensors: [] }, [errors]);
    expect(page.match(/<script\b/g)).toHaveLength(3);
    expect(page.includes("alert(1)</script>")).toBe(false);
    const data = pageData(page);
    expect(data.heatmaps[0].name).toBe(name);
    expect(data.heatmaps[0].values).toEqual([-9, -3, null, -18]);
  });

  it("shows the verdict, the figures and the header facts", () => {
    const { report } = failing;
    expect(report.verdict).toBe("fail");
    expect(markup).toContain('class="verdict verdict-fail"');
    expect(markup).toContain('<div class="verdict-word">FAIL</div>');
    expect(markup).toContain("<dt>step</dt><dd>0 (initialization)</dd>");
    expect(markup).toContain(`<dt>precision</dt><dd>${report.precision}</dd>`);
    expect(markup).toContain(`<dt>mode</dt><dd>${report.mode}</dd>`);
    expect(markup).toContain("<dt>eps</dt><dd>1e-6</dd>");
    expect(markup).toContain(`<dt>coordinates</dt><dd>${report.coordinates.total.toLocaleString("en-US")}</dd>`);
    expect(markup).toContain(`<b>pass</b> ≤ ${formatCompact(report.thresholds.pass)}`);
    expect(markup).toContain(`<b>warn</b> ≤ ${formatCompact(report.thresholds.warn)}`);
    expect(markup).toContain("Thresholds follow the numerical noise: float64 rounding (bounded per coordinate) lies far below it.");
  });

  it("states the report's provenance in the header when it has one", () => {
    const provenance = { checkpoint: { file: "step-<7>.safetensors", sha256: "0123456789ab".padEnd(64, "f"), sizeBytes: 10 }, run: "sweep-1", checkedAt: "2026-12-03T10:00:00.000Z", gradcheck: "0.1.0", host: "trainer-2", backend: "cpu" };
    const page = renderHtmlReport({ ...failing.report, provenance }, []);
    expect(page).toContain("<dt>checkpoint</dt><dd>step-&lt;7&gt;.safetensors (sha256 0123456789ab)</dd>");
    expect(page).toContain("<dt>run</dt><dd>sweep-1</dd>");
    expect(page).toContain("<dt>by</dt><dd>gradcheck 0.1.0 on trainer-2 (cpu)</dd>");
    expect(markup).not.toContain("<dt>run</dt>");
  });

  it("names an automatic step and Richardson extrapolation", () => {
    const report: Report = { ...failing.report, stepRule: "auto", eps: Math.cbrt(2 ** -52), richardson: true };
    expect(markupOf(renderHtmlReport(report, []))).toContain("<dt>eps</dt><dd>auto, 6.06e-6·max(1, |θ|) + Richardson</dd>");
  });

  it("states the diagnosis in plain words with its code and evidence", () => {
    const { diagnosis } = failing.report;
    expect(diagnosis.length).toBeGreaterThan(0);
    for (const finding of diagnosis) {
      expect(markup).toContain(`<p>${escapeHtml(finding.message)}</p>`);
      expect(markup).toContain(`<span class="tag">${escapeHtml(finding.code)}</span>`);
      for (const key of Object.keys(finding.evidence)) expect(markup).toContain(`<dt>${escapeHtml(key)}</dt>`);
    }
  });

  it("lists the worst coordinates by name, worst first", () => {
    const worst = failing.report.tensors
      .flatMap((tensor) => tensor.worst.map((c) => ({ name: `${tensor.name}[${c.index.join(",")}]`, relativeError: c.relativeError })))
      .sort((a, b) => b.relativeError - a.relativeError)
      .slice(0, WORST_SHOWN);
    expect(worst.length).toBe(WORST_SHOWN);
    const section = markup.slice(markup.indexOf('id="worst"'));
    const positions = worst.map((c) => section.indexOf(`<td class="coord">${c.name}</td>`));
    expect(positions.every((position) => position > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(worst.some((c) => /^W1\[\d+,3\]$/.test(c.name))).toBe(true);
    expect(worst.some((c) => c.name.startsWith("W2["))).toBe(true);
  });

  it("lists the outliers with their tolerance, and counts them per tensor", () => {
    const outliers = failing.report.tensors.flatMap((tensor) => tensor.outliers.worst.map((o) => ({ name: `${tensor.name}[${o.index.join(",")}]`, ...o })));
    expect(outliers.length).toBeGreaterThan(0);
    const section = markup.slice(markup.indexOf('id="outliers"'), markup.indexOf('id="worst"'));
    for (const outlier of outliers) {
      expect(section).toContain(`<td class="coord">${outlier.name}</td>`);
      expect(section).toContain(`<td class="num">${formatNumber(outlier.tolerance)}</td>`);
    }
    const table = markup.slice(markup.indexOf('id="tensors"'));
    const w1 = failing.report.tensors[0];
    expect(table).toContain(`<td class="num">${w1.outliers.complete ? w1.outliers.count : `≥ ${w1.outliers.count}`}</td>`);
    expect(markupOf(renderHtmlReport(passing.report, passing.coordinateErrors))).not.toContain('id="outliers"');
  });

  it("has a bar chart of every tensor and a heatmap of each weight", () => {
    expect(markup).toContain('id="chart-tensors"');
    const data = pageData(html);
    expect(data.tensors?.names).toEqual(failing.report.tensors.map((tensor) => tensor.name));
    expect(data.heatmaps.map((heatmap) => heatmap.id)).toEqual(["heatmap-W1", "heatmap-W2", "heatmap-W3"]);
    for (const heatmap of data.heatmaps) expect(markup).toContain(`id="${heatmap.id}"`);
    // In W1 [8, 6] the column scaled by 1.5 has relative error 0.2 in every row: log10 ≈ −0.7.
    const w1 = data.heatmaps[0];
    expect([w1.rows, w1.columns]).toEqual([8, 6]);
    for (let row = 0; row < w1.rows; row++) {
      const value = w1.values[row * w1.columns + 3];
      if (value !== null) expect(value).toBeCloseTo(Math.log10(0.2), 2);
    }
  });

  it("maps a convolution's [out, in, k, k] weight as rows of output channels, so a wrong channel is a stripe", () => {
    const errors = Float64Array.from({ length: 4 * 2 * 3 * 3 }, (_, i) => (Math.floor(i / 18) === 2 ? 0.5 : 1e-12));
    const data = pageData(renderHtmlReport(failing.report, [{ name: "conv.weight", shape: [4, 2, 3, 3], errors }]));
    const [map] = data.heatmaps;
    expect(map.id).toBe("heatmap-conv.weight");
    expect([map.rows, map.columns]).toEqual([4, 18]);
    for (let row = 0; row < 4; row++) expect(map.values[row * 18 + 5]).toBeCloseTo(Math.log10(row === 2 ? 0.5 : 1e-12), 2);
  });

  it("says when and how much a heatmap was downsampled", () => {
    const errors = new Float64Array(128 * 784).fill(1e-12);
    for (let row = 0; row < 128; row++) errors[row * 784 + 500] = 0.3;
    const page = renderHtmlReport(failing.report, [{ name: "W1", shape: [128, 784], errors }]);
    expect(markupOf(page)).toContain("Downsampled from 128 × 784 coordinates to 128 × 157 cells (1 × 5 coordinates per cell, 5× fewer)");
    const [heatmap] = pageData(page).heatmaps;
    expect(heatmap.columnBlock).toBe(5);
    expect(heatmap.values[100]).toBeCloseTo(Math.log10(0.3), 3);
    expect(markupOf(page)).toContain('<span class="tag fail">fail</span>');
    const small = markupOf(renderHtmlReport(failing.report, failing.coordinateErrors));
    expect(small).toContain("8 × 6 coordinates, one cell each.");
    expect(small).not.toContain("Downsampled");
  });

  it("says no problems were found for a passing check, and lists the warnings", () => {
    const { report, coordinateErrors } = passing;
    expect(report.verdict).toBe("pass");
    expect(report.diagnosis).toEqual([]);
    const page = markupOf(renderHtmlReport(report, coordinateErrors));
    expect(page).toContain('class="verdict verdict-pass"');
    expect(page).toContain("No problems were found");
    expect(page).toContain("<dt>step</dt><dd>unknown</dd>");
    expect(report.warnings.map((warning) => warning.code)).toContain("step-unknown");
    for (const warning of report.warnings) {
      expect(page).toContain(`<span class="tag">${warning.code}</span><span>${escapeHtml(warning.message)}</span>`);
    }
  });

  it("renders a report with no tensors and no coordinate errors", () => {
    const empty: Report = { ...passing.report, tensors: [], warnings: [], diagnosis: [] };
    const page = renderHtmlReport(empty, []);
    expect(markupOf(page)).not.toContain('id="chart-tensors"');
    expect(pageData(page)).toMatchObject({ tensors: null, heatmaps: [] });
  });
});

describe("writeHtmlReport", () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "gradcheck-html-write-"));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it("writes the rendered page and leaves no temporary file behind", async () => {
    const { report, coordinateErrors } = await failingCheck({ ...SPEC, name: "small" }, {});
    const path = join(directory, "report.html");
    await writeHtmlReport(path, report, coordinateErrors);
    expect((await readFile(path, "utf8")) === renderHtmlReport(report, coordinateErrors)).toBe(true);
    expect(await readdir(directory)).toEqual(["report.html"]);
    await expect(writeHtmlReport(join(directory, "missing", "report.html"), report, coordinateErrors)).rejects.toThrow(/ENOENT/);
    expect(await readdir(directory)).toEqual(["report.html"]);
  });
});
