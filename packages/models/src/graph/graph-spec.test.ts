import { describe, expect, it } from "vitest";
import { compileGraph } from "./graph-spec.js";
import { lenetSpec, transformerSpec } from "./test-support/models.js";

const base = { name: "m", input: { shape: [4] }, loss: { type: "mse" } };
const refused = (spec: object) => () => compileGraph(spec, "m.json");

describe("compileGraph: errors that teach", () => {
  it("names a misspelt layer type or field, and suggests the nearest", () => {
    expect(refused({ ...base, layers: [{ type: "lineer", name: "fc", out: 2 }] })).toThrow('m.json: layers[0].type: unknown layer type "lineer"; did you mean "linear"?');
    expect(refused({ ...base, layers: [{ type: "linear", name: "fc", out: 2, biass: false }] })).toThrow('m.json: layers[0]: unknown field "biass"; did you mean "bias"?');
    expect(refused({ ...base, los: { type: "mse" }, loss: undefined, layers: [{ type: "relu" }] })).toThrow('m.json: (root): unknown field "los"; did you mean "loss"?');
    expect(refused({ ...base, layers: [{ type: "residual", layers: [{ type: "conv2d", name: "c", out: 1, kernal: 3 }] }] })).toThrow('m.json: layers[0].layers[0]: unknown field "kernal"; did you mean "kernel"?');
  });

  it("points a version 1 spec's fields at their version 2 form", () => {
    expect(refused({ ...base, inputSize: 4, layers: [{ type: "relu" }] })).toThrow('unknown field "inputSize"; a version 2 spec gives "input": {"shape": [features]} instead of inputSize');
  });

  it("says which field is missing or wrong, and where", () => {
    expect(refused({ ...base, layers: [{ type: "linear", out: 2 }] })).toThrow("m.json: layers[0].name: required");
    expect(refused({ ...base, layers: [{ type: "linear", name: "fc 1", out: 2 }] })).toThrow("m.json: layers[0].name: must be a state_dict prefix");
    expect(refused({ ...base, layers: [{ type: "dropout", p: 1 }] })).toThrow("m.json: layers[0].p:");
    expect(refused({ ...base, layers: [] })).toThrow("m.json: layers:");
    expect(refused({ ...base, layers: ["relu"] })).toThrow('m.json: layers[0]: a layer is an object with a "type"');
  });

  it("refuses shapes that do not fit, naming the layer", () => {
    expect(refused({ ...base, layers: [{ type: "conv2d", name: "conv1", out: 2, kernel: 3 }] })).toThrow(
      'm.json: layers[0] (conv2d "conv1"): takes [channels, height, width] per example (NCHW), got [4]',
    );
    expect(refused({ ...base, input: { shape: [1, 2, 2] }, layers: [{ type: "conv2d", name: "conv1", out: 2, kernel: 3 }] })).toThrow("a 3×3 kernel with padding 0 does not fit a 2×2 input");
    expect(refused({ ...base, input: { shape: [3, 6] }, layers: [{ type: "attention", name: "attn", heads: 4 }] })).toThrow("6 features do not split into 4 heads");
    expect(refused({ ...base, layers: [{ type: "residual", layers: [{ type: "linear", name: "fc", out: 3 }] }] })).toThrow(
      "m.json: layers[0] (residual): the wrapped layers turn [4] into [3]; x + f(x) needs the same shape",
    );
  });

  it("refuses two layers of one name, token ids anywhere but into a first embedding, and options a loss does not take", () => {
    expect(refused({ ...base, layers: [{ type: "linear", name: "fc", out: 4 }, { type: "linear", name: "fc", out: 2 }] })).toThrow('m.json: layers[1].name: "fc" is already the name of layers[0]');
    expect(refused({ ...base, input: { shape: [3], dtype: "index" }, layers: [{ type: "linear", name: "fc", out: 2 }] })).toThrow("must go into an embedding first, not linear");
    expect(refused({ ...base, layers: [{ type: "embedding", name: "tok", vocab: 4, dim: 2 }] })).toThrow("embedding takes token ids, so it must be the first layer");
    expect(refused({ ...base, loss: { type: "mse", labelSmoothing: 0.1 }, layers: [{ type: "relu" }] })).toThrow("m.json: loss.labelSmoothing: only cross-entropy takes label smoothing");
    expect(refused({ ...base, input: { shape: [3], dtype: "index", vocab: 9 }, layers: [{ type: "embedding", name: "tok", vocab: 4, dim: 2 }] })).toThrow("the embedding has 4 rows, fewer than the input's vocab 9");
  });

  it("takes the issue's models with their defaults", () => {
    expect(compileGraph(lenetSpec(28), "lenet.json").parameterCount).toBe(2 * 9 + 2 + 3 * 2 * 9 + 3 + 3 * 6 * 6 * 5 + 5 + 5 * 3 + 3);
    const gpt = compileGraph(transformerSpec(), "gpt.json");
    expect(gpt.spec.loss).toEqual({ type: "cross-entropy", target: "index", reduction: "mean", labelSmoothing: 0.1 });
    expect(gpt.spec.l2).toBe(0);
  });
});
