import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { promisify } from "node:util";
import { compareWorkerCounts } from "./cluster-bench.js";
import { LARGE_CASE, MEDIUM_CASE, TANH_CASE, writeLargeFixture, type LargeCase, type LargeFixture } from "./large-fixtures.js";
import { writeMnistFixture } from "./mnist-fixture.js";
import { count, mark, median, seconds } from "./format.js";

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../apps/cli/dist/bin.js", import.meta.url));
const MEASURE = fileURLToPath(new URL("./measure-check.js", import.meta.url));
const GB = 2 ** 30;


interface LargeRun {
  readonly label: string;
  readonly large: LargeCase;
  readonly mode: "full" | "sample" | "directional";
  readonly targetMs: number;
}

const RUNS: LargeRun[] = [
  { label: "0.92M params, F64, batch 64, full", large: MEDIUM_CASE, mode: "full", targetMs: 6_000 },
  { label: "10.5M params, F32, batch 32, sample (64 per tensor)", large: LARGE_CASE, mode: "sample", targetMs: 10_000 },
  { label: "10.5M params, F32, batch 32, directional (8 per tensor)", large: LARGE_CASE, mode: "directional", targetMs: 30_000 },
  // no target in the issue: it took over 4 minutes on one core before the batched path
  { label: "784-256-128-10 tanh, 235k params, F64, batch 64, full", large: TANH_CASE, mode: "full", targetMs: Infinity },
];

/**
 * The large ReLU MLPs of the bench: wall time of the CLI process (files to the printed
 * report), the peak memory of the same check in a fresh process, and its throughput.
 */
export async function largeFigures(directory: string): Promise<void> {
  const fixtures = new Map<LargeCase, LargeFixture>();
  // What a check's process holds whatever the model (runtime, modules, kernels): the peak of
  // the same check on the MNIST-sized model, whose θ and dθ are 1.7 MB.
  const small = await writeMnistFixture(join(directory, "base"));
  const base = (JSON.parse((await run(process.execPath, [MEASURE, small.checkpointPath, small.modelPath, "1"])).stdout) as { peakRssBytes: number }).peakRssBytes;
  console.log("");
  console.log(`  memory: "over the model" is (peak − ${(base / 2 ** 20).toFixed(0)} MB, the peak of a 1-thread MNIST-sized check) / (θ, dθ and the probe batch's activations in float64)`);
  for (const { label, large, mode, targetMs } of RUNS) {
    if (!fixtures.has(large)) fixtures.set(large, await writeLargeFixture(directory, large));
    const fixture = fixtures.get(large)!;
    const started = performance.now();
    const cli = await run(process.execPath, [CLI, "check", fixture.checkpointPath, "--model", fixture.modelPath, "--mode", mode, "--json", "--no-save"], {
      maxBuffer: 64 * 2 ** 20,
    });
    const wallMs = performance.now() - started;
    const report = JSON.parse(cli.stdout) as { verdict: string; costEvaluations: number; coordinates: { checked: number } };
    const measured = JSON.parse((await run(process.execPath, [MEASURE, fixture.checkpointPath, fixture.modelPath, "auto", mode])).stdout) as {
      peakRssBytes: number;
    };
    const peak = measured.peakRssBytes;
    console.log("");
    console.log(`  ${label}: ${fixture.parameters.toLocaleString("en-US")} parameters, verdict ${report.verdict}`);
    const target = Number.isFinite(targetMs) ? `   target ≤ ${seconds(targetMs)} ${mark(wallMs <= targetMs)}` : "";
    console.log(`    wall time, end to end (CLI process):                     ${seconds(wallMs)}${target}`);
    console.log(`    peak memory (RSS, threads included):                     ${(peak / 2 ** 20).toFixed(0)} MB   target ≤ 1 GB ${mark(peak <= GB)}`);
    const modelBytes = 8 * (2 * fixture.parameters + large.batch * large.sizes.reduce((sum, units) => sum + units, 0));
    console.log(`    over the model (${(modelBytes / 2 ** 20).toFixed(0)} MB):${" ".repeat(Math.max(1, 39 - (modelBytes / 2 ** 20).toFixed(0).length))}${((peak - base) / modelBytes).toFixed(1)}×   aim ≈ 1.5×`);
    if (mode === "directional") {
      console.log(`    directions per second (${report.costEvaluations} cost evaluations in all):      ${(report.costEvaluations / 2 / (wallMs / 1000)).toFixed(1)}`);
      console.log(`    θ coordinates covered per second:                        ${count(fixture.parameters / (wallMs / 1000))}`);
    } else {
      console.log(`    coordinates per second (${count(report.coordinates.checked)} checked):${" ".repeat(Math.max(1, 31 - count(report.coordinates.checked).length))}${count(report.coordinates.checked / (wallMs / 1000))}`);
    }
  }

  const medium = fixtures.get(MEDIUM_CASE)!;
  console.log("");
  console.log(`  the 0.92M full check through a local cluster (workers of one processor each; local PostgreSQL and Redis):`);
  try {
    const { one, two, ceiling, shards } = await compareWorkerCounts(medium.checkpointPath, medium.modelPath, MEDIUM_CASE.name);
    const ratios = one.map((ms, round) => ms / two[round]);
    const speedUp = median(ratios);
    console.log(`    1 worker, POST /checks to its end event (median of ${one.length} rounds): ${seconds(median(one))}   ${shards[0]} shards`);
    console.log(`    2 workers, in turns with 1:                              ${seconds(median(two))}   ${shards[1]} shards`);
    console.log(`    speed-up of 2 workers over 1, per round:                 ${ratios.map((ratio) => `${ratio.toFixed(2)}×`).join(", ")}`);
    console.log(`    speed-up, median of the rounds:                          ${speedUp.toFixed(2)}×   target ≥ 1.6× ${mark(speedUp >= 1.6)}`);
    console.log(`    the machine's ceiling, per round (the check as two local`);
    console.log(`      one-thread processes at once, against one alone):      ${ceiling.map((ratio) => `${ratio.toFixed(2)}×`).join(", ")}`);
    console.log(`    2 workers' share of that ceiling, median:                ${(100 * median(ratios.map((ratio, round) => ratio / ceiling[round]))).toFixed(0)}%`);
  } catch (error) {
    console.log(`    skipped: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
}
