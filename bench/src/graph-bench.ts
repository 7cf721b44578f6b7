import { execFile } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadCheckFiles } from "@gradcheck/cli";
import { GraphBackend } from "@gradcheck/compute";
import { stepRuleFor } from "@gradcheck/engine";
import { count, mark, seconds } from "./format.js";

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../apps/cli/dist/bin.js", import.meta.url));
const MEASURE = fileURLToPath(new URL("./measure-check.js", import.meta.url));
/** A figure's line, its values in one column. */
const line = (label: string, value: string) => console.log(`    ${`${label}:`.padEnd(62)} ${value}`);
const TORCH_REFERENCE = fileURLToPath(new URL("../python/torch_reference.py", import.meta.url));


interface TorchCase {
  readonly name: string;
  readonly checkpoint: string;
  readonly model: string;
  readonly parameters: number;
  readonly sampledCoordinates: number;
  readonly torchForwardMs: number;
  readonly torchCentralDifferencesMsPerCoordinate: number;
  readonly torchThreads: number;
  readonly torchFullCheckSeconds: number;
}

const LABELS: Record<string, { label: string; fullCheck: boolean }> = {
  lenet5: { label: "LeNet-5, batch 32 of 1×28×28, F64", fullCheck: true },
  // a full check takes minutes here: it is estimated as torch's is (see below), and a sample check run
  "gpt-2x64": { label: "causal transformer, 2 blocks, d 64, 4 heads, T 32, batch 8, F64", fullCheck: false },
};

/**
 * Version 2 models from PyTorch (bench/python/torch_reference.py, with Debian's python3-torch):
 * gradcheck's full and sample checks of each, against PyTorch's own float64 central
 * differences of the same model on the same machine in the same run. torch's cost per
 * coordinate is the same two forward passes for every coordinate, so its full check is its
 * rate on evenly spread coordinates times the parameter count; gradcheck's full check is run,
 * or, where it takes minutes, estimated the same way from its own rate in one thread.
 */
export async function graphFigures(directory: string): Promise<void> {
  console.log("");
  console.log("  version 2 models from PyTorch, against torch's own float64 central differences (two forward passes per coordinate):");
  let cases: TorchCase[];
  let torch: string;
  try {
    const env = { ...process.env };
    // the machine's own OpenBLAS kernels for torch, as for numpy (see STACK.md)
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    const { stdout } = await run(process.env.GRADCHECK_TORCH_PYTHON ?? "/usr/bin/python3", [TORCH_REFERENCE, directory], { env, maxBuffer: 16 * 2 ** 20 });
    const parsed = JSON.parse(stdout) as { torch: string; cases: TorchCase[] };
    cases = parsed.cases;
    torch = parsed.torch;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n").find((line) => /Error|error/.test(line)) ?? error.message.split("\n")[0] : String(error);
    line(`skipped`, `no PyTorch to make the models and the reference (${reason.trim()}); apt-get install -y python3-torch`);
    return;
  }
  for (const reference of cases) {
    const { label, fullCheck } = LABELS[reference.name] ?? { label: reference.name, fullCheck: false };
    console.log("");
    console.log(`  ${label}: ${count(reference.parameters)} parameters`);
    line(`torch ${torch} forward pass (loss of the batch)`, `${reference.torchForwardMs.toFixed(2)} ms`);
    line(`torch central differences, ${reference.torchThreads} thread(s), ${reference.sampledCoordinates} coordinates`, `${reference.torchCentralDifferencesMsPerCoordinate.toFixed(2)} ms per coordinate`);
    line(`torch full check, estimated (rate × parameters)`, `${reference.torchFullCheckSeconds.toFixed(0)} s`);
    const torchMs = 1000 * reference.torchFullCheckSeconds;
    if (fullCheck) {
      const full = await timedCheck(reference, "full");
      line(`gradcheck full check, end to end (CLI, ${availableParallelism()} cores)`, `${seconds(full.wallMs)}   verdict ${full.verdict}, ${count(full.checked)} coordinates, ${count(full.checked / (full.wallMs / 1000))} per second`);
      const measured = await peakOf(reference, "full");
      line(`peak memory (RSS, threads included)`, `${(measured / 2 ** 20).toFixed(0)} MB`);
      const speedUp = torchMs / full.wallMs;
      line(`faster than torch's central differences`, `${speedUp.toFixed(1)}×   target ≥ 20× ${mark(speedUp >= 20)}`);
    } else {
      const estimate = await ownRate(reference);
      const estimateMs = estimate * reference.parameters;
      line(`gradcheck central differences, 1 thread, the same ${reference.sampledCoordinates} coordinates`, `${estimate.toFixed(2)} ms per coordinate`);
      line(`gradcheck full check, estimated the same way, 1 thread`, `${seconds(estimateMs)} (${seconds(estimateMs / availableParallelism())} on ${availableParallelism()} cores)`);
      const speedUp = torchMs / (estimateMs / availableParallelism());
      line(`faster than torch's central differences, estimated`, `${speedUp.toFixed(1)}×   target ≥ 20× ${mark(speedUp >= 20)}`);
    }
    const sample = await timedCheck(reference, "sample");
    line(`gradcheck sample check (64 per tensor), end to end`, `${seconds(sample.wallMs)}   verdict ${sample.verdict}, ${count(sample.checked)} coordinates`);
  }
}

async function timedCheck(reference: TorchCase, mode: "full" | "sample") {
  const started = performance.now();
  const { stdout } = await run(process.execPath, [CLI, "check", reference.checkpoint, "--model", reference.model, "--mode", mode, "--json", "--no-save"], { maxBuffer: 64 * 2 ** 20 });
  const wallMs = performance.now() - started;
  const report = JSON.parse(stdout) as { verdict: string; coordinates: { checked: number } };
  return { wallMs, verdict: report.verdict, checked: report.coordinates.checked };
}

async function peakOf(reference: TorchCase, mode: "full" | "sample"): Promise<number> {
  const { stdout } = await run(process.execPath, [MEASURE, reference.checkpoint, reference.model, "auto", mode]);
  return (JSON.parse(stdout) as { peakRssBytes: number }).peakRssBytes;
}

/** gradcheck's own central differences per coordinate (ms), one thread, on the coordinates torch's rate was measured on. */
async function ownRate(reference: TorchCase): Promise<number> {
  const input = await loadCheckFiles(reference.checkpoint, reference.model);
  if (!input.graph) throw new Error(`${reference.name} is not a version 2 model`);
  const backend = new GraphBackend(input.graph, input.theta, input.buffers, input.batch);
  const total = reference.parameters;
  const picks = Int32Array.from({ length: reference.sampledCoordinates }, (_, n) => Math.round((n * (total - 1)) / (reference.sampledCoordinates - 1)));
  const options = { step: stepRuleFor({}) };
  backend.centralDifferences(picks.subarray(0, 20), options); // warm up the JIT
  const started = performance.now();
  backend.centralDifferences(picks, options);
  return (performance.now() - started) / picks.length;
}
