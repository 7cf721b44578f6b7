import { describe, expect, it } from "vitest";
import { CheckpointMismatchError } from "../checkpoint-tensors.js";
import { graphGradientName, matchCheckpointToGraph, type StoredTensor } from "./graph-checkpoint.js";
import { compileGraph, type CompiledGraph } from "./graph-spec.js";
import { lenetSpec, transformerSpec } from "./test-support/models.js";

/** The tensors a correct checkpoint of the graph holds, batch m, as PyTorch would save them. */
function storedFor(graph: CompiledGraph, m: number): Map<string, StoredTensor> {
  const stored = new Map<string, StoredTensor>();
  for (const parameter of graph.parameters) {
    stored.set(parameter.name, { shape: parameter.shape, dtype: "F32" });
    stored.set(graphGradientName(parameter.name), { shape: parameter.shape, dtype: "F32" });
  }
  for (const buffer of graph.buffers) stored.set(buffer.name, { shape: buffer.shape, dtype: "F32" });
  const ids = graph.spec.input.dtype === "index";
  stored.set("X", { shape: [m, ...graph.spec.input.shape], dtype: ids ? "I64" : "F32" });
  stored.set("Y", { shape: [m, ...graph.target], dtype: "I64" });
  return stored;
}

const lenet = compileGraph(lenetSpec(12, "running"), "lenet.json");
const gpt = compileGraph(transformerSpec(), "gpt.json");
const refused = (graph: CompiledGraph, stored: Map<string, StoredTensor>) => () => matchCheckpointToGraph(graph, stored, "c.safetensors");

describe("matchCheckpointToGraph", () => {
  it("takes PyTorch's state_dict as saved, num_batches_tracked and all, and lists what it does not use", () => {
    const stored = storedFor(lenet, 4).set("bn1.num_batches_tracked", { shape: [], dtype: "I64" }).set("optimizer.lr", { shape: [], dtype: "F32" });
    expect(matchCheckpointToGraph(lenet, stored, "c.safetensors")).toEqual({ batchSize: 4, unused: ["optimizer.lr"] });
    expect(matchCheckpointToGraph(gpt, storedFor(gpt, 2), "c.safetensors").batchSize).toBe(2);
  });

  it("names a missing tensor and the nearest one the file has, or says the file holds version 1 names", () => {
    const renamed = storedFor(lenet, 4);
    renamed.set("conv_1.weight", renamed.get("conv1.weight")!).delete("conv1.weight");
    expect(refused(lenet, renamed)).toThrow('c.safetensors: tensor "conv1.weight" is missing; the nearest it has is "conv_1.weight"');
    const noGradient = storedFor(lenet, 4);
    noGradient.delete("grad.fc2.bias");
    expect(refused(lenet, noGradient)).toThrow('c.safetensors: gradient "grad.fc2.bias" is missing');
    const versionOne = new Map<string, StoredTensor>([["W1", { shape: [3, 4], dtype: "F64" }]]);
    expect(refused(lenet, versionOne)).toThrow("it holds version 1 names (W1, b1, …)");
    expect(refused(lenet, versionOne)).toThrow(CheckpointMismatchError);
  });

  it("refuses a tensor of the wrong shape, naming the layer that makes it", () => {
    const stored = storedFor(lenet, 4).set("fc1.weight", { shape: [12, 5], dtype: "F32" });
    expect(refused(lenet, stored)).toThrow('c.safetensors: tensor "fc1.weight" has shape [12, 5]; the spec\'s layer "fc1" makes it [5, 12]');
  });

  it("says when X holds its examples along the wrong dimension, or holds the wrong kind of values", () => {
    const flat = compileGraph({ name: "m", input: { shape: [6] }, layers: [{ type: "linear", name: "fc", out: 2 }], loss: { type: "mse" } }, "m.json");
    const transposed = storedFor(flat, 4).set("X", { shape: [6, 4], dtype: "F32" });
    expect(refused(flat, transposed)).toThrow("X has shape [6, 4]; the spec takes [m, 6], examples along the first dimension: this X has them along the last, so transpose it");
    expect(refused(gpt, storedFor(gpt, 2).set("X", { shape: [2, 5], dtype: "F32" }))).toThrow('X holds F32 values, but the spec\'s input is token ids (dtype "index"): store them as I64 or I32');
  });

  it("tells class ids from one-hot targets, both ways", () => {
    expect(refused(lenet, storedFor(lenet, 4).set("Y", { shape: [4, 3], dtype: "F32" }))).toThrow(
      'Y is shaped like the output [4, 3], one-hot or probabilities, but the loss takes class ids ("target": "index")',
    );
    const oneHot = compileGraph({ ...lenetSpec(), loss: { type: "cross-entropy", target: "one-hot" } }, "lenet.json");
    expect(refused(oneHot, storedFor(lenet, 4))).toThrow('Y holds class ids [4], but the loss takes "target": "one-hot": say "target": "index", or store one-hot targets');
    expect(refused(lenet, storedFor(lenet, 4).set("Y", { shape: [4], dtype: "F64" }))).toThrow("Y holds F64 values, but class ids are integers");
    expect(refused(lenet, storedFor(lenet, 4).set("Y", { shape: [3], dtype: "I64" }))).toThrow("Y holds 3 examples and X 4");
  });
});
