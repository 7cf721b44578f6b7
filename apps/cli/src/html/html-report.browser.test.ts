import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maxPoolGrid } from "./heatmap-grid.js";
import { heatmapId, type CoordinateErrors } from "./html-report.js";
import { failingCheck, type FailingCheck } from "./test-support/failing-check.js";
import { writeHtmlReport } from "./write-html-report.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ON_CI = Boolean(process.env.CI);
/** Only a developer's machine may lack Chromium; on CI a missing browser fails the test. */
const SKIP = !existsSync(CHROMIUM) && !ON_CI;
if (SKIP) {
  console.warn(
    `html-report.browser.test.ts: SKIPPED, no Chromium at ${CHROMIUM}. Install it (apt-get install chromium) or set CHROMIUM_PATH; on CI this test runs and fails instead.`,
  );
}

/** Where a person can look at the rendered page after the test: apps/cli/test-output/. */
const TEST_OUTPUT = fileURLToPath(new URL("../../test-output/", import.meta.url));

/** 480 inputs: W1 [40, 480] is max-pooled to 40 × 160 cells of 1 × 3 coordinates. */
const SPEC = {
  name: "mlp-480 · bad column θ",
  inputSize: 480,
  layers: [
    { units: 40, activation: "relu" },
    { units: 24, activation: "tanh" },
    { units: 10, activation: "softmax" },
  ],
  loss: "cross-entropy",
  l2: 0.01,
};
const BAD_COLUMN = { layer: 1, column: 250, factor: 1.5 };
const WRONG_COORDINATE = { kind: "wrong-coordinate", layer: 2, row: 5, column: 7 } as const;

const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

interface CanvasProbe {
  found: boolean;
  canvases: number;
  width: number;
  height: number;
  /** pixels neither transparent nor near-white */
  painted: number;
}

// The in-page code below is source text for page.evaluate: this package type-checks without the DOM library.

/**
 * Defines flatten(id): ECharts paints a chart on several stacked canvases (the heatmap cells
 * have a layer of their own), so their pixels are composited, in DOM order, onto one.
 */
const FLATTEN = `const flatten = (id) => {
  const element = document.getElementById(id);
  const layers = element ? [...element.querySelectorAll("canvas")] : [];
  if (layers.length === 0) return null;
  const { width, height } = layers[0];
  const flat = document.createElement("canvas");
  flat.width = width;
  flat.height = height;
  const context = flat.getContext("2d", { willReadFrequently: true });
  for (const layer of layers) if (layer.width > 0 && layer.height > 0) context.drawImage(layer, 0, 0, width, height);
  return { element, layers, context, width, height, scale: width / layers[0].clientWidth };
};`;

const PROBE_CANVAS = `(id) => {
  ${FLATTEN}
  const element = document.getElementById(id);
  const flat = flatten(id);
  if (!flat) return { found: Boolean(element), canvases: 0, width: 0, height: 0, painted: 0 };
  const { layers, context, width, height } = flat;
  if (width === 0 || height === 0) return { found: true, canvases: layers.length, width, height, painted: 0 };
  const pixels = context.getImageData(0, 0, width, height).data;
  let painted = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i + 3] === 0) continue;
    if (pixels[i] > 245 && pixels[i + 1] > 245 && pixels[i + 2] > 245) continue;
    painted++;
  }
  return { found: true, canvases: layers.length, width, height, painted };
}`;

/** The heatmap's cells as ECharts holds them: [x, y, log10 error]. */
const HEATMAP_CELLS = `(id) => echarts.getInstanceByDom(document.getElementById(id)).getOption().series[0].data`;

/** Colour (r, g, b) on screen at the centre of cell (x, y) of a heatmap, for each requested cell. */
const CELL_COLOURS = `([id, cells]) => {
  ${FLATTEN}
  const { element, context, scale } = flatten(id);
  const chart = echarts.getInstanceByDom(element);
  return cells.map(([x, y]) => {
    const [px, py] = chart.convertToPixel({ seriesIndex: 0 }, [x, y]);
    const d = context.getImageData(Math.round(px * scale), Math.round(py * scale), 1, 1).data;
    return [d[0], d[1], d[2]];
  });
}`;

const BAR_CHART = `() => {
  const option = echarts.getInstanceByDom(document.getElementById("chart-tensors")).getOption();
  const series = option.series[0];
  return { type: series.type, bars: series.data.length, yAxis: option.yAxis[0].type, markLines: series.markLine.data.map((line) => line.yAxis) };
}`;

describe.skipIf(SKIP)(`HTML report in headless Chromium (${CHROMIUM})`, () => {
  let check: FailingCheck;
  let directory: string;
  let file: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "gradcheck-html-"));
    file = join(directory, "report.html");
    check = await failingCheck(SPEC, { fault: WRONG_COORDINATE, badColumn: BAD_COLUMN }, { step: null });
    await writeHtmlReport(file, check.report, check.coordinateErrors);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it("renders every chart offline, shows the bad column as a stripe, and saves a screenshot", async () => {
    // Checked here, not in beforeAll, so that a CI machine without Chromium counts a failed test.
    expect(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: .ci/run installs it; set CHROMIUM_PATH if it lives elsewhere`).toBe(true);
    expect(check.report.verdict).toBe("fail");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    const page: Page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const attempted: string[] = [];
    const aborted: string[] = [];
    const errors: string[] = [];
    page.on("request", (request) => {
      if (!/^(file|data|blob|about):/.test(request.url())) attempted.push(request.url());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    await page.route("**", (route) => {
      if (route.request().url().startsWith("file:")) return route.continue();
      aborted.push(route.request().url());
      return route.abort();
    });

    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(`document.body.dataset.rendered === "true" || document.body.dataset.renderError !== undefined`, null, {
      timeout: 30_000,
    });
    expect(await page.evaluate(`document.body.dataset.renderError ?? null`)).toBeNull();
    // Saved first, so that a failure below still leaves the page to look at.
    const screenshot = join(directory, "html-report.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    await mkdir(TEST_OUTPUT, { recursive: true });
    await copyFile(screenshot, join(TEST_OUTPUT, "html-report.png"));
    await copyFile(file, join(TEST_OUTPUT, "html-report.html"));

    expect(await page.evaluate(`document.body.dataset.rendered`)).toBe("true");

    // Every chart drew something: a canvas of non-zero size with a fair share of coloured pixels.
    const heatmaps = check.coordinateErrors.filter((tensor) => tensor.shape.length === 2);
    expect(heatmaps.map((tensor) => tensor.name)).toEqual(["W1", "W2", "W3"]);
    for (const id of ["chart-tensors", ...heatmaps.map((tensor) => heatmapId(tensor.name))]) {
      const probe = (await page.evaluate(`(${PROBE_CANVAS})(${JSON.stringify(id)})`)) as CanvasProbe;
      expect(probe, id).toMatchObject({ found: true });
      expect(probe.canvases, id).toBeGreaterThan(0);
      expect(probe.width, id).toBeGreaterThan(0);
      expect(probe.height, id).toBeGreaterThan(0);
      expect(probe.painted / (probe.width * probe.height), id).toBeGreaterThan(id === "chart-tensors" ? 0.01 : 0.2);
    }
    expect(await page.evaluate(`(${BAR_CHART})()`)).toEqual({
      type: "bar",
      bars: check.report.tensors.length,
      yAxis: "log",
      markLines: [check.report.thresholds.pass, check.report.thresholds.warn],
    });

    // The bad column of W1 is a stripe: every cell clearly wrong (above 1e-4, the classic F64 fail
    // line; the measured thresholds sit near the numerical noise) sits in its pooled column...
    const w1 = heatmaps[0] as CoordinateErrors;
    const grid = maxPoolGrid(w1.errors, w1.shape[0], w1.shape[1]);
    expect(grid.columnBlock).toBeGreaterThan(1);
    const stripe = Math.floor(BAD_COLUMN.column / grid.columnBlock);
    const cells = (await page.evaluate(`(${HEATMAP_CELLS})(${JSON.stringify(heatmapId("W1"))})`)) as [number, number, number][];
    const max = Math.max(...cells.map((cell) => cell[2]));
    const hot = cells.filter((cell) => cell[2] > -4);
    expect(hot.length).toBeGreaterThanOrEqual(0.9 * grid.rows);
    expect(new Set(hot.map((cell) => cell[0]))).toEqual(new Set([stripe]));
    expect(new Set(cells.filter((cell) => cell[2] === max).map((cell) => cell[0]))).toEqual(new Set([stripe]));

    // ...and it shows in the pixels: red down the bad column, blue down a good one.
    const good = stripe > 20 ? stripe - 20 : stripe + 20;
    const rows = Array.from({ length: grid.rows }, (_, y) => y);
    const hotRows = new Set(hot.map((cell) => cell[1]));
    const colours = (await page.evaluate(
      `(${CELL_COLOURS})(${JSON.stringify([heatmapId("W1"), [...rows.map((y) => [stripe, y]), ...rows.map((y) => [good, y])]])})`,
    )) as [number, number, number][];
    const badColours = colours.slice(0, grid.rows).filter((_, y) => hotRows.has(y));
    const goodColours = colours.slice(grid.rows);
    for (const [r, , b] of badColours) expect(r - b).toBeGreaterThan(80);
    for (const [r, , b] of goodColours) expect(b - r).toBeGreaterThan(40);

    // Nothing left the machine, and nothing went wrong on the page.
    expect(attempted).toEqual([]);
    expect(aborted).toEqual([]);
    expect(errors).toEqual([]);

    await page.close();
  }, 60_000);
});
