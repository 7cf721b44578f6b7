import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createStream } from "@gradcheck/core";
import { compileGraph, graphGradient, type CompiledGraph, type GraphBatch } from "@gradcheck/models";
import { describe, expect, it } from "vitest";
import { DEFAULT_CHECK_OPTIONS, type CheckOptions, type GraphCheckInput } from "./check-input.js";
import { loadGraphCheckInput } from "./load-graph-input.js";
import { runLocalCheck } from "./run-check.js";
import {
  attentionWithoutScale,
  attentionWrittenOut,
  buggyGradient,
  causalMaskMissingInBackward,
  embeddingGradientLostForRepeats,
  flippedKernelInBackward,
  layerNormWithoutMeanTerm,
  maxPoolGradientToWrongElement,
  wrongPaddingInBackward,
} from "./test-support/injected-bugs.js";

const GOLDEN = fileURLToPath(new URL("../test/golden/", import.meta.url));
const FULL: CheckOptions = { ...DEFAULT_CHECK_OPTIONS, mode: "full" };
const failing = (report: { tensors: readonly { name: string; verdict: string }[] }) => report.tensors.filter((t) => t.verdict === "fail").map((t) => t.name);

async function golden(name: string): Promise<GraphCheckInput> {
  const graph = compileGraph(JSON.parse(await readFile(`${GOLDEN}${name}.json`, "utf8")), `${name}.json`);
  return loadGraphCheckInput(`${GOLDEN}${name}.safetensors`, graph);
}

describe("checks of version 2 networks against PyTorch's gradients", () => {
  for (const name of ["lenet", "resnet-batch", "resnet-running", "tiny-gpt", "sequential"]) {
    it(`${name}: torch's float64 .grad passes, and so does the same .grad saved in float32`, async () => {
      const input = await golden(name);
      const report = await runLocalCheck(input, { ...FULL, threads: 1 });
      expect(failing(report)).toEqual([]);
      expect(report.verdict).not.toBe("fail");
      expect(report.tensors.map((t) => t.name)).toEqual(input.graph.parameters.map((p) => p.name));
      expect(report.coordinates.checked + report.coordinates.kinks).toBe(input.graph.parameterCount);

      const float32 = await runLocalCheck({ ...input, analytic: input.analytic.map(Math.fround), precision: "F32" }, { ...FULL, threads: 1 });
      expect(failing(float32)).toEqual([]);
      expect(float32.tolerances?.arithmetic).toBe("F32");
      // two full checks of every fixture: seconds alone, longer on a busy machine
    }, 120_000);
  }

  it("a tensor whose gradient is doubled fails, alone, and is diagnosed as a scale", async () => {
    const input = await golden("tiny-gpt");
    const tensor = input.graph.parameters.find((p) => p.name === "blocks.1.attn.proj.weight")!;
    const analytic = input.analytic.slice();
    for (let i = tensor.offset; i < tensor.offset + tensor.size; i++) analytic[i] *= 2;
    const report = await runLocalCheck({ ...input, analytic }, { ...FULL, threads: 1 });
    expect(failing(report)).toEqual(["blocks.1.attn.proj.weight"]);
    expect(report.diagnosis.map((finding) => finding.code)).toContain("scale");
  });

  it("runs the same in worker threads, and in sample and directional modes", async () => {
    const input = await golden("lenet");
    const one = await runLocalCheck(input, { ...FULL, threads: 1 });
    const two = await runLocalCheck(input, { ...FULL, threads: 2 });
    expect(two.tensors.map((t) => t.relativeDifference)).toEqual(one.tensors.map((t) => t.relativeDifference));
    const sample = await runLocalCheck(input, { ...DEFAULT_CHECK_OPTIONS, mode: "sample", samples: 4, threads: 1 });
    expect(sample.coordinates.checked + sample.coordinates.kinks).toBeLessThanOrEqual(4 * input.graph.parameters.length);
    expect(sample.verdict).not.toBe("fail");
    const directional = await runLocalCheck(input, { ...DEFAULT_CHECK_OPTIONS, mode: "directional", threads: 1 });
    expect(directional.verdict).not.toBe("fail");

    // a wrong coordinate is found by directional mode's localization, under its state_dict name
    const analytic = input.analytic.slice();
    const tensor = input.graph.parameters.find((p) => p.name === "conv2.weight")!;
    analytic[tensor.offset + 7] += 0.5 * (Math.abs(analytic[tensor.offset + 7]) + 1e-3);
    const located = await runLocalCheck({ ...input, analytic }, { ...DEFAULT_CHECK_OPTIONS, mode: "directional", threads: 1 });
    expect(failing(located)).toEqual(["conv2.weight"]);
    expect(located.localization?.located).toEqual(["conv2.weight[0,0,2,1]"]);
  });
});

/** A network's θ and batch drawn at random (weights of fan-in scale, gains near 1). */
function drawn(spec: unknown, m: number, seed: number, ids?: number[]): Omit<GraphCheckInput, "analytic"> {
  const graph = compileGraph(spec, "bug-table model");
  const random = createStream(seed, 1);
  const theta = new Float64Array(new SharedArrayBuffer(8 * graph.parameterCount));
  for (const p of graph.parameters) {
    const fanIn = p.shape.length > 1 ? p.size / p.shape[0] : 1;
    for (let i = p.offset; i < p.offset + p.size; i++) theta[i] = p.name.endsWith("ln1.weight") || p.name.endsWith("ln_f.weight") ? 1 + 0.2 * (random() - 0.5) : (2 * random() - 1) / Math.sqrt(fanIn);
  }
  const inputSize = graph.spec.input.shape.reduce((a, b) => a * b, 1);
  const classes = graph.output[graph.output.length - 1];
  const positions = graph.target.reduce((a, b) => a * b, 1);
  const batch: GraphBatch = {
    m,
    inputs: ids ? Float64Array.from(ids) : Float64Array.from({ length: m * inputSize }, () => 2 * random() - 1),
    targets: Float64Array.from({ length: m * positions }, () => Math.floor(random() * classes)),
  };
  return { graph, theta, buffers: new Float64Array(graph.bufferCount), batch, precision: "F64", step: 1 };
}

const CNN = {
  name: "bug-table-cnn",
  input: { shape: [1, 8, 8] },
  layers: [
    { type: "conv2d", name: "conv1", out: 3, kernel: 3, padding: 1 },
    { type: "relu" },
    { type: "maxpool2d", kernel: 2 },
    { type: "conv2d", name: "conv2", out: 4, kernel: 3, padding: 1 },
    { type: "tanh" },
    { type: "flatten" },
    { type: "linear", name: "fc", out: 5 },
  ],
  loss: { type: "cross-entropy", target: "index" },
};

const TRANSFORMER = {
  name: "bug-table-gpt",
  input: { shape: [5], dtype: "index", vocab: 7 },
  layers: [
    { type: "embedding", name: "tok", vocab: 7, dim: 8 },
    { type: "positional", name: "pos", length: 5, dim: 8 },
    { type: "residual", layers: [{ type: "layernorm", name: "ln1" }, { type: "attention", name: "attn", heads: 2, causal: true }] },
    { type: "layernorm", name: "ln_f" },
    { type: "linear", name: "head", out: 7 },
  ],
  loss: { type: "cross-entropy", target: "index", labelSmoothing: 0.1 },
};
// token ids with repeats within and across examples
const TOKENS = [1, 3, 1, 5, 3, 0, 6, 6, 2, 4];

describe("an injected-bug table for the version 2 layers: each fails, in exactly the tensors it touches", () => {
  const cnn = () => drawn(CNN, 2, 7);
  const gpt = () => drawn(TRANSFORMER, 2, 11, TOKENS);
  const table = [
    { bug: "a flipped conv kernel in backward", model: cnn, layer: "conv2", inject: flippedKernelInBackward, fails: ["conv1.weight", "conv1.bias"] },
    { bug: "wrong padding in a conv's weight gradient", model: cnn, layer: "conv2", inject: wrongPaddingInBackward, fails: ["conv2.weight"] },
    { bug: "a max-pool gradient sent to the wrong element", model: cnn, layer: "layers[2]", inject: maxPoolGradientToWrongElement, fails: ["conv1.weight", "conv1.bias"] },
    { bug: "layer norm without the mean term", model: gpt, layer: "ln1", inject: layerNormWithoutMeanTerm, fails: ["tok.weight", "pos.weight"] },
    { bug: "attention backward without the 1/√(d/heads) scale", model: gpt, layer: "attn", inject: attentionWithoutScale, fails: ["tok.weight", "pos.weight", "ln1.weight", "ln1.bias", "attn.qkv.weight", "attn.qkv.bias"] },
    { bug: "the causal mask missing in backward", model: gpt, layer: "attn", inject: causalMaskMissingInBackward, fails: ["tok.weight", "pos.weight", "ln1.weight", "ln1.bias", "attn.qkv.weight", "attn.qkv.bias"] },
    { bug: "an embedding gradient lost for a repeated token", model: gpt, layer: "tok", inject: embeddingGradientLostForRepeats, fails: ["tok.weight"] },
  ] as const;

  for (const { bug, model, layer, inject, fails } of table) {
    it(bug, async () => {
      const input = model();
      const analytic = buggyGradient(input.graph, input.theta, input.buffers, input.batch, layer, inject);
      // the tensors the bug really changes are the ones listed
      expect(changedTensors(input.graph, graphGradient(input.graph, input.theta, input.buffers, input.batch).gradient, analytic)).toEqual([...fails].sort());
      const report = await runLocalCheck({ ...input, analytic }, { ...FULL, threads: 1 });
      expect(report.verdict).toBe("fail");
      expect(failing(report).sort()).toEqual([...fails].sort());
    });
  }

  it("the written-out attention backward without a mistake passes (the table's attention bugs are the mistakes alone)", async () => {
    const input = gpt();
    const analytic = buggyGradient(input.graph, input.theta, input.buffers, input.batch, "attn", attentionWrittenOut);
    const report = await runLocalCheck({ ...input, analytic }, { ...FULL, threads: 1 });
    expect(failing(report)).toEqual([]);
  });

  it("a bug below a layer is diagnosed as the backward step into it, by the spec's layer names", async () => {
    const input = cnn();
    const analytic = buggyGradient(input.graph, input.theta, input.buffers, input.batch, "conv2", flippedKernelInBackward);
    const report = await runLocalCheck({ ...input, analytic }, { ...FULL, threads: 1 });
    const finding = report.diagnosis.find((f) => f.code === "layer");
    expect(finding?.message).toContain("the backward step from conv2 down to conv1");
    expect(finding?.evidence).toMatchObject({ layerName: "conv1" });
  });
});

function changedTensors(graph: CompiledGraph, correct: Float64Array, buggy: Float64Array): string[] {
  return graph.parameters
    .filter((p) => {
      let difference = 0;
      let norm = 0;
      for (let i = p.offset; i < p.offset + p.size; i++) {
        difference += (buggy[i] - correct[i]) ** 2;
        norm += correct[i] ** 2;
      }
      return Math.sqrt(difference) > 1e-6 * Math.sqrt(norm);
    })
    .map((p) => p.name)
    .sort();
}
