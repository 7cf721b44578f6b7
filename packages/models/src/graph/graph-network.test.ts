import { describe, expect, it } from "vitest";
import { checkGraphBatch, graphCost } from "./graph-network.js";
import { compileGraph } from "./graph-spec.js";
import { analytic, centralDifferences, gradientsAgree, problem, type Problem } from "./test-support/central.js";
import { lenetSpec, transformerSpec } from "./test-support/models.js";

const cost = (p: Problem) => graphCost(p.graph, p.theta, p.buffers, p.batch);

function withSpec(spec: object, m: number, seed: number): Problem {
  const { input, layers, loss } = spec as { input: { shape: number[]; dtype?: "float" | "index"; vocab?: number }; layers: unknown[]; loss: object };
  const base = problem(layers, input, m, seed, loss);
  return { ...base, graph: compileGraph(spec, "test spec") };
}

describe("whole version 2 networks", () => {
  for (const [label, spec] of [
    ["a LeNet-style CNN with l2", lenetSpec()],
    ["a LeNet-style CNN with batch norm on batch statistics", lenetSpec(12, "batch")],
    ["a LeNet-style CNN with batch norm on running statistics", lenetSpec(12, "running")],
    ["a 2-block causal transformer with label smoothing", transformerSpec()],
  ] as const) {
    it(`${label}: the reference gradient equals central differences over every parameter`, () => {
      const p = withSpec(spec, 3, 7);
      const exact = analytic(p);
      const numeric = centralDifferences(p, cost, "theta");
      expect(gradientsAgree(exact.theta, numeric)).toMatchObject({ agree: true });
      expect(p.graph.parameterCount).toBe(exact.theta.length);
      // two whole forward passes per parameter: seconds alone, longer beside other suites
    }, 120_000);
  }

  it("lays θ out in state_dict order under PyTorch's names, weights decaying in l2 and nothing else", () => {
    const graph = compileGraph(transformerSpec(1, 4, 3, 5), "test spec");
    expect(graph.parameters.map((tensor) => `${tensor.name}${JSON.stringify(tensor.shape)}${tensor.decays ? " l2" : ""}`)).toEqual([
      "tok.weight[5,4]",
      "pos.weight[3,4]",
      "blocks.0.ln1.weight[4]",
      "blocks.0.ln1.bias[4]",
      "blocks.0.attn.qkv.weight[12,4] l2",
      "blocks.0.attn.qkv.bias[12]",
      "blocks.0.attn.proj.weight[4,4] l2",
      "blocks.0.attn.proj.bias[4]",
      "blocks.0.ln2.weight[4]",
      "blocks.0.ln2.bias[4]",
      "blocks.0.mlp.fc.weight[8,4] l2",
      "blocks.0.mlp.fc.bias[8]",
      "blocks.0.mlp.proj.weight[4,8] l2",
      "blocks.0.mlp.proj.bias[4]",
      "ln_f.weight[4]",
      "ln_f.bias[4]",
      "head.weight[5,4] l2",
    ]);
    expect(graph.parameters.every((tensor, index) => index === 0 || tensor.offset === graph.parameters[index - 1].offset + graph.parameters[index - 1].size)).toBe(true);
    const cnn = compileGraph(lenetSpec(12, "running"), "test spec");
    expect(cnn.buffers.map((tensor) => tensor.name)).toEqual(["bn1.running_mean", "bn1.running_var"]);
    expect(cnn.output).toEqual([3]);
    expect(cnn.target).toEqual([]);
  });

  it("refuses a batch that does not fit, naming the value", () => {
    const p = withSpec(lenetSpec(), 2, 3);
    expect(() => checkGraphBatch(p.graph, { ...p.batch, targets: new Float64Array([0, 3]) })).toThrow("Y[1] = 3 is not a class id in 0..2");
    expect(() => checkGraphBatch(p.graph, { ...p.batch, inputs: new Float64Array(5) })).toThrow("X holds 5 values, not m × 144");
    const gpt = withSpec(transformerSpec(), 1, 3);
    gpt.batch.inputs[2] = 9;
    expect(() => cost(gpt)).toThrow('layers[0] (embedding "tok"): token id 9 at position 2 of the batch is not in 0..6');
  });
});
