import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadCheckFiles } from "@gradcheck/cli";
import { CpuBackend } from "@gradcheck/compute";
import { availableGpuJsModes, GpuJsBackend } from "@gradcheck/compute/gpujs";
import { parameterLayout } from "@gradcheck/models";
import { DEFAULT_CHECK_OPTIONS, measureRounding, runLocalCheck, ScreenedBackend, stepRuleFor, type MlpCheckInput } from "@gradcheck/engine";
import { timeClusterChecks } from "./cluster-bench.js";
import { gemmFigures } from "./gemm-bench.js";
import { graphFigures } from "./graph-bench.js";
import { largeFigures } from "./large-bench.js";
import { timeNaiveCentralDifferences } from "./naive.js";
import { BATCH_SIZE, writeMnistFixture } from "./mnist-fixture.js";
import { mark, median, seconds } from "./format.js";

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../apps/cli/dist/bin.js", import.meta.url));
const MEASURE = fileURLToPath(new URL("./measure-check.js", import.meta.url));
const REPEATS = 3;

const signed = (fraction: number) => `${fraction >= 0 ? "+" : ""}${(100 * fraction).toFixed(0)}%`;

async function main(): Promise<void> {
  const directory = join(tmpdir(), `gradcheck-bench-${process.pid}`);
  const parts = process.argv.slice(2);
  if (parts.some((part) => part !== "v2")) throw new Error(`unknown bench part ${parts.join(" ")}: "pnpm bench" runs every part, "pnpm bench v2" the version 2 models alone`);
  if (parts.includes("v2")) {
    // the version 2 models against PyTorch alone
    try {
      await graphFigures(join(directory, "torch"));
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
    return;
  }
  try {
    const fixture = await writeMnistFixture(directory);
    const input = await loadCheckFiles(fixture.checkpointPath, fixture.modelPath);
    if (input.graph) throw new Error("the MNIST fixture is a version 1 MLP");
    const total = input.theta.length;
    console.log(`gradcheck bench: MNIST-sized MLP 784-128-64-10 (relu, softmax cross-entropy, λ 0.01, batch ${input.batch.size}, F64)`);
    console.log(`  parameters: ${total.toLocaleString("en-US")}; machine: ${availableParallelism()} cores, Node ${process.versions.node}`);

    // 1. End to end, as a user runs it: the CLI process, from files to the printed report.
    const cliTimes: number[] = [];
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      const started = performance.now();
      const { stdout } = await run(process.execPath, [CLI, "check", fixture.checkpointPath, "--model", fixture.modelPath, "--json", "--no-save"]);
      cliTimes.push(performance.now() - started);
      if (JSON.parse(stdout).verdict !== "pass") throw new Error("the correct benchmark model did not pass");
    }

    // 1b. The same with the check recorded in the embedded history (a fresh data folder).
    const savedTimes: number[] = [];
    const historyEnv: NodeJS.ProcessEnv = { ...process.env, GRADCHECK_DATA_DIR: join(directory, "history") };
    delete historyEnv.DATABASE_URL;
    for (let repeat = 0; repeat <= REPEATS; repeat++) {
      const started = performance.now();
      await run(process.execPath, [CLI, "check", fixture.checkpointPath, "--model", fixture.modelPath, "--json"], { env: historyEnv });
      // the first run creates the database; a user's later checks find it
      if (repeat > 0) savedTimes.push(performance.now() - started);
    }

    // 2. The same check in a fresh process that reports its own peak memory.
    const measured = [];
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      const { stdout } = await run(process.execPath, [MEASURE, fixture.checkpointPath, fixture.modelPath, "auto"]);
      measured.push(JSON.parse(stdout) as { checkMs: number; totalMs: number; peakRssBytes: number });
    }
    const single = JSON.parse((await run(process.execPath, [MEASURE, fixture.checkpointPath, fixture.modelPath, "1"])).stdout) as {
      checkMs: number;
    };

    // 3. Per-coordinate cost, one thread: incremental evaluator vs whole forward passes.
    const backend = new CpuBackend(input.spec, input.theta, input.batch);
    const coordinates = (count: number) => Int32Array.from({ length: count }, (_, i) => i);
    const options = { step: stepRuleFor({}) };
    backend.centralDifferences(coordinates(5_000), options); // warm up the JIT
    const started = performance.now();
    backend.centralDifferences(coordinates(total), options);
    const incrementalMs = (performance.now() - started) / total;
    const naiveMs = timeNaiveCentralDifferences(input.spec, input.theta, input.batch, 200);
    const studyMs = timeRoundingStudy(input, backend.cost);
    // The same model held to float32 arithmetic: the study then emulates a float32 backprop too.
    const float32StudyMs = timeRoundingStudy({ ...input, precision: "F32" }, backend.cost);
    const gpuJs = timeGpuJsModes(input);

    // 4. Directional mode plus localization on the same model with one wrong coordinate in dW1.
    const faulty = await writeMnistFixture(directory, { kind: "wrong-coordinate", layer: 1, row: 3, column: 7 });
    const directionalStarted = performance.now();
    const directional = await run(process.execPath, [CLI, "check", faulty.checkpointPath, "--model", faulty.modelPath, "--mode", "directional", "--json", "--no-save"]).catch(
      (error: { stdout: string }) => error,
    );
    const directionalMs = performance.now() - directionalStarted;
    const directionalReport = JSON.parse(directional.stdout) as { costEvaluations: number; localization: { located: string[] } };

    const endToEnd = median(cliTimes);
    const peakMb = Math.max(...measured.map((m) => m.peakRssBytes)) / 2 ** 20;
    const speedUp = naiveMs / incrementalMs;
    console.log("");
    console.log(`  full check, end to end (CLI process, median of ${REPEATS}):  ${seconds(endToEnd)}   target ≤ 5 s ${mark(endToEnd <= 5000)}`);
    const saved = median(savedTimes);
    console.log(`  the same, recorded in the embedded history (median of ${REPEATS}):  ${seconds(saved)}   target ≤ 1 s ${mark(saved <= 1000)}`);
    console.log(`  full check in-process, default threads (load + check):     ${seconds(median(measured.map((m) => m.totalMs)))}`);
    console.log(`  full check in-process, 1 thread (check only):              ${seconds(single.checkMs)}`);
    console.log(`  peak memory (RSS, threads included):                       ${peakMb.toFixed(0)} MB   target ≤ 300 MB ${mark(peakMb <= 300)}`);
    console.log(`  coordinates per second, end to end:                        ${Math.round(total / (endToEnd / 1000)).toLocaleString("en-US")}`);
    console.log(`  coordinates per second, one thread, incremental:           ${Math.round(1000 / incrementalMs).toLocaleString("en-US")}`);
    console.log(`  coordinates per second, one thread, naive (200 sampled):   ${(1000 / naiveMs).toFixed(1)}`);
    console.log(`  speed-up over naive central differences (one thread):      ${speedUp.toFixed(0)}×   target ≥ 25× ${mark(speedUp >= 25)}`);
    console.log(`  naive full check, estimated:                               ${seconds(naiveMs * total)}`);
    const checkMs = median(measured.map((m) => m.checkMs));
    console.log(`  measured tolerances (rounding study, median of ${REPEATS}):        ${studyMs.toFixed(0)} ms, ${((100 * studyMs) / checkMs).toFixed(1)}% of the in-process check`);
    console.log(`    the same held to F32 (one emulated float32 backprop more):  ${float32StudyMs.toFixed(0)} ms, ${((100 * float32StudyMs) / checkMs).toFixed(1)}%`);
    for (const { mode, coordinatesPerSecond, screenPerSecond, confirmShare, confirmed } of gpuJs) {
      console.log(`  coordinates per second, gpujs ${mode}, screen + float64 confirmation: ${Math.round(coordinatesPerSecond).toLocaleString("en-US")}`);
      console.log(`    float32 screen alone:                                    ${Math.round(screenPerSecond).toLocaleString("en-US")}`);
      console.log(`    float64 confirmation: ${(100 * confirmed).toFixed(1)}% of coordinates, ${(100 * confirmShare).toFixed(1)}% of the time`);
    }
    const fullEvaluations = 2 * total;
    const share = directionalReport.costEvaluations / fullEvaluations;
    console.log("");
    console.log("  one wrong coordinate in dW1 (W1[3,7]), --mode directional with localization:");
    console.log(`    located:                                                 ${directionalReport.localization.located.join(", ") || "nothing"}   ${mark(directionalReport.localization.located.join() === "W1[3,7]")}`);
    console.log(`    cost evaluations:                                        ${directionalReport.costEvaluations.toLocaleString("en-US")} of a full check's ${fullEvaluations.toLocaleString("en-US")}`);
    console.log(`    ratio:                                                   ${(100 * share).toFixed(3)}%   target ≤ 2% ${mark(share <= 0.02)}`);
    console.log(`    wall time, end to end:                                   ${seconds(directionalMs)}`);

    const gemm = await gemmFigures(availableParallelism(), ["native-avx512", "native-avx2", "wasm-simd-fma", "wasm-simd", "js"]);
    console.log("");
    console.log(`  float64 GEMM of the kernel layer, ${1024}×${1024} matrices (GFLOP/s; "all cores": one process per core at once):`);
    const reference = "missing" in gemm.numpy ? undefined : gemm.numpy;
    for (const { kernel, one, all } of gemm.kernels) {
      const share = reference ? `   ${((100 * all) / reference.all).toFixed(0)}% of numpy's${kernel === gemm.kernels[0].kernel ? ` target ≥ 40% ${mark(all >= 0.4 * reference.all)}` : ""}` : "";
      console.log(`    ${kernel.padEnd(14)} one core ${one.toFixed(1).padStart(6)}   all cores ${all.toFixed(1).padStart(6)}${share}`);
    }
    if (reference) console.log(`    numpy dgemm    one core ${reference.one.toFixed(1).padStart(6)}   all cores ${reference.all.toFixed(1).padStart(6)}   (${reference.blas} as shipped, the same run)`);
    else console.log(`    numpy: not measured (${(gemm.numpy as { missing: string }).missing}): no reference in this run`);
    if (reference && gemm.pinned) {
      const { coreType, one, all } = gemm.pinned;
      const best = gemm.kernels[0];
      console.log(`    numpy, ${coreType} kernels (this machine's OPENBLAS_CORETYPE): one core ${one.toFixed(1)}, all cores ${all.toFixed(1)}; the kernel is ${((100 * best.all) / all).toFixed(0)}% of it`);
    }

    await largeFigures(join(directory, "large"));

    await graphFigures(join(directory, "torch"));

    await clusterFigures(fixture.checkpointPath, fixture.modelPath);
    // The overhead is a fixed cost per check: the same on a check four times as long.
    const longer = await writeMnistFixture(directory, undefined, 4 * BATCH_SIZE);
    await clusterFigures(longer.checkpointPath, longer.modelPath, `batch ${4 * BATCH_SIZE}`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * The gpujs backend as checks use it, in each gpu.js mode that works here, on 2,000 coordinates
 * spread over θ (a whole check takes minutes in webasm): the float32 screen, then the float64
 * confirmation of what it flags and of the sample of its passes.
 */
function timeGpuJsModes(input: MlpCheckInput) {
  const total = input.theta.length;
  const indices = Int32Array.from({ length: 2_000 }, (_, n) => Math.floor((n * total) / 2_000));
  const options = { step: stepRuleFor({}) };
  const confirm = new CpuBackend(input.spec, input.theta, input.batch);
  const settings = { layout: parameterLayout(input.spec), analytic: input.analytic, precision: input.precision, seed: 0 };
  return availableGpuJsModes().map((mode) => {
    const screen = new GpuJsBackend(input.spec, input.theta, input.batch, { mode });
    new ScreenedBackend(screen, confirm, settings).centralDifferences(indices.subarray(0, 100), options); // compiles the kernels
    const screened = new ScreenedBackend(screen, confirm, settings);
    screened.centralDifferences(indices, options);
    const { screenSeconds, confirmSeconds, flagged, sampled } = screened.statistics;
    return {
      mode,
      coordinatesPerSecond: indices.length / (screenSeconds + confirmSeconds),
      screenPerSecond: indices.length / screenSeconds,
      confirmShare: confirmSeconds / (screenSeconds + confirmSeconds),
      confirmed: (flagged + sampled) / indices.length,
    };
  });
}

/**
 * The rounding study behind the measured tolerances (float64 backprop with its bounds, and the
 * emulated ones below F64), warm. A copy of the input each time: the study is kept per input.
 */
function timeRoundingStudy(input: MlpCheckInput, cost: number): number {
  const layout = parameterLayout(input.spec);
  measureRounding({ ...input }, layout, cost);
  const times = Array.from({ length: REPEATS }, () => {
    const fresh = { ...input };
    const started = performance.now();
    measureRounding(fresh, layout, cost);
    return performance.now() - started;
  });
  return median(times);
}

/** In-process, warm, one thread: load + check, as a cluster check loads its checkpoint too. */
async function timeInProcess(checkpointPath: string, modelPath: string): Promise<number> {
  const once = async () => {
    const started = performance.now();
    await runLocalCheck(await loadCheckFiles(checkpointPath, modelPath), { ...DEFAULT_CHECK_OPTIONS, threads: 1 });
    return performance.now() - started;
  };
  await once();
  return median([await once(), await once(), await once()]);
}

/** 5. The same full check through a local cluster (PostgreSQL and Redis on this machine). */
async function clusterFigures(checkpointPath: string, modelPath: string, variant?: string): Promise<void> {
  console.log("");
  console.log(`  the same full check${variant ? ` with a probe ${variant}` : ""} through a local cluster (workers of one processor each; local PostgreSQL and Redis):`);
  let one, two;
  try {
    one = await timeClusterChecks(checkpointPath, modelPath, 1);
    two = await timeClusterChecks(checkpointPath, modelPath, 2);
  } catch (error) {
    console.log(`    skipped: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
    return;
  }
  const cliTimes = async (threads: number) => {
    const times = [];
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      const started = performance.now();
      await run(process.execPath, [CLI, "check", checkpointPath, "--model", modelPath, "--json", "--no-save", "--threads", String(threads)]);
      times.push(performance.now() - started);
    }
    return median(times);
  };
  const cliOne = await cliTimes(1);
  const cliTwo = await cliTimes(2);
  const inProcess = await timeInProcess(checkpointPath, modelPath);
  const submitOne = median(one.submit);
  const submitTwo = median(two.submit);
  const serviceOne = median(one.service);
  const overhead = serviceOne / inProcess - 1;
  console.log(`    in-process, one thread, warm (load + check, median of 3):      ${seconds(inProcess)}`);
  console.log(`    cluster, 1 worker: POST /checks to report (median of ${REPEATS}):      ${seconds(serviceOne)}   ${one.shards} shards`);
  console.log(`    queue overhead (planning, queue hops, database writes):        ${(100 * overhead).toFixed(1)}%   target ≤ 10% ${mark(overhead <= 0.1)}`);
  console.log(`    cluster, 2 workers: POST /checks to report:                    ${seconds(median(two.service))}`);
  console.log(`    two-worker speed-up:                                           ${(serviceOne / median(two.service)).toFixed(2)}×   (${availableParallelism()} cores, shared with the coordinator)`);
  console.log("    as a user runs them, CLI process to printed report (median of 3):");
  console.log(`      gradcheck check --threads 1 ${seconds(cliOne)}   gradcheck submit --wait, 1 worker ${seconds(submitOne)} (${signed(submitOne / cliOne - 1)})`);
  console.log(`      gradcheck check --threads 2 ${seconds(cliTwo)}   gradcheck submit --wait, 2 workers ${seconds(submitTwo)} (${signed(submitTwo / cliTwo - 1)})`);
}

await main();
