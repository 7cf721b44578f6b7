import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createRandom } from "@gradcheck/core";
import { DEFAULT_RUN } from "@gradcheck/contracts";
import { DEFAULT_CHECK_OPTIONS } from "@gradcheck/engine";
import {
  backprop,
  faultyGradients,
  networkFromTheta,
  parseModelSpec,
  randomBatch,
  randomTheta,
  type Fault,
} from "@gradcheck/models";
import pc from "picocolors";
import { writeCheckpointFile } from "@gradcheck/engine";
import type { CliConfig } from "../config.js";
import { EXIT } from "../errors.js";
import { writeFileAtomic } from "../files.js";
import type { Output } from "../io.js";
import { checkCommand } from "./check.js";

export const DEFAULT_DEMO_DIR = join(tmpdir(), "gradcheck-demo");

const DEMO_SPEC = {
  name: "demo-mlp",
  inputSize: 6,
  layers: [
    { units: 10, activation: "tanh" },
    { units: 8, activation: "relu" },
    { units: 4, activation: "softmax" },
  ],
  loss: "cross-entropy",
  l2: 0.5,
  keepProb: 1,
};
const FORGOTTEN_L2: Fault = { kind: "forgotten-l2", layers: "all" };

/**
 * `gradcheck demo`: writes a small model with a correct checkpoint and one whose backprop
 * forgot the L2 term, checks both with `gradcheck check` (recorded in the history like any
 * check, unless --no-save), and explains the output.
 */
export async function demoCommand(options: { out: string; save: boolean }, output: Output, config: CliConfig): Promise<number> {
  const spec = parseModelSpec(DEMO_SPEC, "demo model");
  const random = createRandom(2026);
  const theta = randomTheta(spec, random);
  const batch = randomBatch(spec, 16, random);
  const network = networkFromTheta(spec, theta);

  await mkdir(options.out, { recursive: true });
  const modelPath = join(options.out, "model.json");
  const correctPath = join(options.out, "correct.safetensors");
  const buggyPath = join(options.out, "forgotten-l2.safetensors");
  await writeFileAtomic(modelPath, `${JSON.stringify(DEMO_SPEC, null, 2)}\n`);
  await writeCheckpointFile(correctPath, spec, theta, backprop(network, batch), batch, { step: 0 });
  await writeCheckpointFile(buggyPath, spec, theta, faultyGradients(FORGOTTEN_L2, network, batch), batch, { step: 0 });

  const show = (path: string) => {
    const nearby = relative(process.cwd(), path);
    return nearby && !nearby.startsWith("..") ? nearby : path;
  };
  output.out(pc.bold("gradcheck demo"));
  output.out(
    `A ${spec.layers.length}-layer MLP (${[spec.inputSize, ...spec.layers.map((l) => l.units)].join("-")}, tanh, relu, softmax, ` +
      `L2 λ = ${spec.l2}) and a probe batch of ${batch.size} examples were written to ${show(options.out)}:\n` +
      `  ${show(modelPath)}                 the model spec\n` +
      `  ${show(correctPath)}          θ with the gradient dθ of a correct backprop\n` +
      `  ${show(buggyPath)}     θ with dθ from a backprop that forgot the L2 term (λ/m)·W\n`,
  );

  const exitCodes: number[] = [];
  for (const [path, story] of [
    [correctPath, "1. The correct backprop. Every tensor should pass, with relative differences far below 1e-7."],
    [buggyPath, "2. The buggy backprop. The weight tensors fail; the biases, which L2 does not touch, still pass."],
  ] as const) {
    output.out(pc.bold(story));
    output.out(pc.dim(`$ gradcheck check ${show(path)} --model ${show(modelPath)} --top 3\n`));
    exitCodes.push(await checkCommand(path, { ...DEFAULT_CHECK_OPTIONS, top: 3, model: modelPath, backend: "cpu", json: false, save: options.save, run: DEFAULT_RUN }, output, config));
    output.out("");
  }

  output.out(pc.bold("Reading the output"));
  output.out(
    [
      "  relative difference  ‖dθ_numeric − dθ‖ / (‖dθ_numeric‖ + ‖dθ‖), overall and per tensor. The thresholds are",
      "                       measured: what a correct backprop in the checkpoint's dtype gets wrong on this batch, ×10.",
      "  outliers             coordinates beyond their own tolerance (that rounding there, plus the numerical error):",
      "                       any outlier fails its tensor, so one wrong coordinate in a million still fails the check.",
      "  per-tensor table     which tensors disagree: here only W1..W3, which points at the L2 term in dW.",
      "  error strip          the worst per-coordinate error in each band of rows, on a log scale: a bad row stands out.",
      "  worst coordinates    where the numeric and analytic values differ most, with both values.",
      "  diagnosis            the likely bug, from the shape of the disagreement (here: dθ − dθ_numeric = −(λ/m)·W).",
      "  kinks                coordinates whose ±eps step moves a ReLU input across 0; left out of every figure.",
      "  exit code            0 pass or warn, 1 fail, 2 bad input (gradcheck --help lists them all).",
      "",
      `Check your own model: gradcheck check CHECKPOINT.safetensors --model MODEL.json   (see gradcheck --help)`,
      `Every check is recorded; gradcheck history ${DEMO_SPEC.name} lists them across runs and training steps, gradcheck show CHECK prints one.`,
    ].join("\n"),
  );
  const asExpected = exitCodes[0] === EXIT.ok && exitCodes[1] === EXIT.fail;
  if (!asExpected) output.err(`gradcheck demo: unexpected exit codes ${exitCodes.join(", ")} (expected 0 for the correct checkpoint, 1 for the buggy one)`);
  return asExpected ? 0 : 1;
}
