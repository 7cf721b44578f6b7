import { describe, expect, it } from "vitest";
import { layerSizes } from "./architecture.js";
import { checkSpecJson, ModelSpecError, parseCheckSpec, parseModelSpec } from "./spec.js";

const example = {
  name: "mnist-mlp",
  inputSize: 784,
  layers: [
    { units: 128, activation: "relu" },
    { units: 64, activation: "tanh" },
    { units: 10, activation: "softmax" },
  ],
  loss: "cross-entropy",
  l2: 0.01,
  keepProb: 1.0,
};

type Json = Record<string, unknown>;
const withChanges = (changes: Json): Json => ({ ...structuredClone(example), ...changes });

function rejection(input: unknown, label?: string): Error {
  try {
    parseModelSpec(input, label);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelSpecError);
    return error as Error;
  }
  throw new Error("parseModelSpec accepted an invalid spec");
}

describe("parseModelSpec", () => {
  it("accepts the documented example unchanged", () => {
    const spec = parseModelSpec(structuredClone(example));
    expect(spec).toEqual(example);
    expect(layerSizes(spec)).toEqual([784, 128, 64, 10]);
  });

  it("fills the defaults l2 = 0 and keepProb = 1", () => {
    const { l2: _l2, keepProb: _keepProb, ...rest } = structuredClone(example);
    const spec = parseModelSpec(rest);
    expect(spec.l2).toBe(0);
    expect(spec.keepProb).toBe(1);
  });

  it("accepts each allowed head and a network without hidden layers", () => {
    const head = (activation: string, loss: string) =>
      parseModelSpec({ name: "h", inputSize: 3, layers: [{ units: 2, activation }], loss });
    expect(head("softmax", "cross-entropy").layers[0].activation).toBe("softmax");
    expect(head("sigmoid", "cross-entropy").layers[0].activation).toBe("sigmoid");
    expect(head("linear", "mse").loss).toBe("mse");
  });

  it("puts the label and the field in the message", () => {
    const error = rejection(withChanges({ inputSize: 0 }), "models/mlp.json");
    expect(error.message).toMatch(/^models\/mlp\.json: inputSize: /);
    expect(rejection(withChanges({ inputSize: 0 })).message).toMatch(/^model: inputSize: /);
  });

  it("rejects an unknown field, naming it", () => {
    expect(rejection(withChanges({ dropout: 0.5 })).message).toContain("dropout");
    const layers = structuredClone(example.layers) as Json[];
    layers[1] = { ...layers[1], bias: false };
    expect(rejection(withChanges({ layers })).message).toContain("bias");
  });

  it("rejects a missing or empty name", () => {
    const { name: _name, ...rest } = structuredClone(example);
    expect(rejection(rest).message).toMatch(/: name: /);
    expect(rejection(withChanges({ name: "   " })).message).toMatch(/: name: /);
  });

  it("rejects non-integer, zero or negative units, naming the layer", () => {
    for (const units of [12.5, 0, -3, "8"]) {
      const layers = structuredClone(example.layers) as Json[];
      layers[1] = { ...layers[1], units };
      expect(rejection(withChanges({ layers })).message).toMatch(/: layers\[1\]\.units: /);
    }
  });

  it("rejects a non-integer inputSize and empty layers", () => {
    expect(rejection(withChanges({ inputSize: 7.5 })).message).toMatch(/: inputSize: /);
    expect(rejection(withChanges({ layers: [] })).message).toMatch(/: layers: /);
  });

  it("rejects softmax in a hidden layer", () => {
    const layers = structuredClone(example.layers) as Json[];
    layers[0] = { units: 128, activation: "softmax" };
    const message = rejection(withChanges({ layers })).message;
    expect(message).toMatch(/: layers\[0\]\.activation: /);
    expect(message).toContain("softmax");
  });

  it("rejects output activations that do not go with the loss", () => {
    const withOutput = (activation: string, loss: string) => {
      const layers = structuredClone(example.layers) as Json[];
      layers[2] = { units: 10, activation };
      return rejection(withChanges({ layers, loss })).message;
    };
    const relu = withOutput("relu", "cross-entropy");
    expect(relu).toMatch(/: layers\[2\]\.activation: /);
    expect(relu).toContain('"relu"');
    expect(withOutput("relu", "mse")).toMatch(/: layers\[2\]\.activation: .*"relu".*"mse"/);
    expect(withOutput("tanh", "mse")).toMatch(/: layers\[2\]\.activation: /);
    const softmaxMse = withOutput("softmax", "mse");
    expect(softmaxMse).toMatch(/: layers\[2\]\.activation: .*"softmax".*"mse"/);
    expect(softmaxMse).toContain("linear");
    const linearCrossEntropy = withOutput("linear", "cross-entropy");
    expect(linearCrossEntropy).toMatch(/: layers\[2\]\.activation: .*"linear".*"cross-entropy"/);
    expect(linearCrossEntropy).toContain("softmax or sigmoid");
  });

  it("rejects an unknown activation or loss", () => {
    const layers = structuredClone(example.layers) as Json[];
    layers[0] = { units: 4, activation: "gelu" };
    expect(rejection(withChanges({ layers })).message).toMatch(/: layers\[0\]\.activation: /);
    expect(rejection(withChanges({ loss: "hinge" })).message).toMatch(/: loss: /);
  });

  it("rejects keepProb 0 or above 1 and accepts values in (0, 1]", () => {
    for (const keepProb of [0, -0.5, 1.0001, 2]) {
      expect(rejection(withChanges({ keepProb })).message).toMatch(/: keepProb: /);
    }
    expect(parseModelSpec(withChanges({ keepProb: 1e-9 })).keepProb).toBe(1e-9);
    expect(parseModelSpec(withChanges({ keepProb: 0.5 })).keepProb).toBe(0.5);
  });

  it("rejects a negative or non-finite l2 and accepts 0", () => {
    expect(rejection(withChanges({ l2: -0.01 })).message).toMatch(/: l2: /);
    expect(rejection(withChanges({ l2: Infinity })).message).toMatch(/: l2: /);
    expect(parseModelSpec(withChanges({ l2: 0 })).l2).toBe(0);
  });

  it("rejects something that is not an object", () => {
    expect(rejection(null).message).toMatch(/^model: \(root\): /);
    expect(rejection([]).message).toMatch(/^model: \(root\): /);
  });
});

describe("model names", () => {
  const spec = (name: string) => ({ name, inputSize: 2, layers: [{ units: 1, activation: "sigmoid" }], loss: "cross-entropy" });
  it.each(["a\u0000b", "tab\there", "a/b", "a\\b", "\ud800"])("refuses %j", (name) => {
    expect(() => parseModelSpec(spec(name))).toThrow(/name: must be printable text/);
  });
  it.each(["mnist-mlp", "modèle 2", "résnet_v1.2", "😀"])("accepts %j", (name) => {
    expect(parseModelSpec(spec(name)).name).toBe(name);
  });
});

describe("a version 2 spec", () => {
  const v2 = { name: "m", input: { shape: [4] }, layers: [{ type: "linear", name: "fc", out: 2 }], loss: { type: "mse" } };
  it("parseCheckSpec compiles it, naming its own mistakes", () => {
    expect(() => parseCheckSpec({ ...v2, layers: [{ type: "lineer", name: "fc", out: 2 }] }, "m.json")).toThrow('m.json: layers[0].type: unknown layer type "lineer"; did you mean "linear"?');
    const parsed = parseCheckSpec(v2, "m.json");
    expect(parsed.version === 2 && parsed.graph.parameters.map((p) => p.name)).toEqual(["fc.weight", "fc.bias"]);
    expect(checkSpecJson(parsed)).toMatchObject({ name: "m", l2: 0 });
    expect(parseCheckSpec(spec1, "m.json")).toEqual({ version: 1, spec: parseModelSpec(spec1) });
  });
  it("parseModelSpec, which takes version 1 only, names its mistakes first, then says it is not version 1", () => {
    expect(() => parseModelSpec({ ...v2, layers: [{ type: "lineer", name: "fc", out: 2 }] }, "m.json")).toThrow('did you mean "linear"?');
    expect(() => parseModelSpec(v2, "m.json")).toThrow(ModelSpecError);
    expect(() => parseModelSpec(v2, "m.json")).toThrow("m.json: this is a version 2 spec (an \"input\" object and typed layers), where a version 1 MLP spec");
  });
});
const spec1 = { name: "mlp", inputSize: 2, layers: [{ units: 1, activation: "sigmoid" }], loss: "cross-entropy" };
