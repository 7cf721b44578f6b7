import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadCheckFiles } from "@gradcheck/cli";
import { CpuBackend } from "@gradcheck/compute";
import { stepRuleFor } from "@gradcheck/engine";
import { timeNaiveCentralDifferences } from "./naive.js";
import { writeMnistFixture } from "./mnist-fixture.js";

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../apps/cli/dist/bin.js", import.meta.url));
const MEASURE = fileURLToPath(new URL("./measure-check.js", import.meta.url));
const REPEATS = 3;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mark = (ok: boolean) => (ok ? "✓" : "✗ MISSED");

async function main(): Promise<void> {
  const directory = join(tmpdir(), `gradcheck-bench-${process.pid}`);
  try {
    const fixture = await writeMnistFixture(directory);
    const input = await loadCheckFiles(fixture.checkpointPath, fixture.modelPath);
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
    console.log(`  full check in-process, default threads (load + check):     ${seconds(median(measured.map((m) => m.totalMs)))}`);
    console.log(`  full check in-process, 1 thread (check only):              ${seconds(single.checkMs)}`);
    console.log(`  peak memory (RSS, threads included):                       ${peakMb.toFixed(0)} MB   target ≤ 300 MB ${mark(peakMb <= 300)}`);
    console.log(`  coordinates per second, end to end:                        ${Math.round(total / (endToEnd / 1000)).toLocaleString("en-US")}`);
    console.log(`  coordinates per second, one thread, incremental:           ${Math.round(1000 / incrementalMs).toLocaleString("en-US")}`);
    console.log(`  coordinates per second, one thread, naive (200 sampled):   ${(1000 / naiveMs).toFixed(1)}`);
    console.log(`  speed-up over naive central differences (one thread):      ${speedUp.toFixed(0)}×   target ≥ 25× ${mark(speedUp >= 25)}`);
    console.log(`  naive full check, estimated:                               ${seconds(naiveMs * total)}`);
    const fullEvaluations = 2 * total;
    const share = directionalReport.costEvaluations / fullEvaluations;
    console.log("");
    console.log("  one wrong coordinate in dW1 (W1[3,7]), --mode directional with localization:");
    console.log(`    located:                                                 ${directionalReport.localization.located.join(", ") || "nothing"}   ${mark(directionalReport.localization.located.join() === "W1[3,7]")}`);
    console.log(`    cost evaluations:                                        ${directionalReport.costEvaluations.toLocaleString("en-US")} of a full check's ${fullEvaluations.toLocaleString("en-US")}`);
    console.log(`    ratio:                                                   ${(100 * share).toFixed(3)}%   target ≤ 2% ${mark(share <= 0.02)}`);
    console.log(`    wall time, end to end:                                   ${seconds(directionalMs)}`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

await main();
