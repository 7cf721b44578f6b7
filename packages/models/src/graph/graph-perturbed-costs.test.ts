import { describe, expect, it } from "vitest";
import { graphCost } from "./graph-network.js";
import { compileGraph } from "./graph-spec.js";
import { GraphPerturbedCosts } from "./graph-perturbed-costs.js";
import { problem } from "./test-support/central.js";
import { lenetSpec, transformerSpec } from "./test-support/models.js";

/** A vector model: layer norm and batch norm on features and channels, leaky ReLU, residual, sigmoid, mse. */
const vectorSpec = {
  name: "vectors",
  input: { shape: [6] },
  layers: [
    { type: "linear", name: "fc1", out: 5 },
    { type: "layernorm", name: "ln" },
    { type: "leaky_relu", slope: 0.1 },
    { type: "residual", layers: [{ type: "linear", name: "inner", out: 5, bias: false }, { type: "silu" }] },
    { type: "linear", name: "fc2", out: 3 },
    { type: "sigmoid" },
  ],
  loss: { type: "mse", reduction: "sum" },
};

describe("GraphPerturbedCosts", () => {
  for (const [label, spec, m] of [
    ["LeNet with l2 and running batch norm", lenetSpec(12, "running"), 3],
    ["LeNet with batch statistics", lenetSpec(12, "batch"), 3],
    ["a causal transformer", transformerSpec(), 3],
    ["vectors through layer norm, a residual and mse", vectorSpec, 4],
  ] as const) {
    it(`${label}: each perturbed cost equals a full forward pass of the perturbed θ, kinks marked alike`, () => {
      const { input, layers, loss, l2 } = spec as { input: never; layers: unknown[]; loss: object; l2?: number };
      const base = problem(layers, input, m, 11, loss);
      const graph = l2 ? { ...base.graph, spec: { ...base.graph.spec, l2 } } : base.graph;
      const costs = new GraphPerturbedCosts(graph, base.theta, base.buffers, base.batch);
      expect(costs.cost).toBe(graphCost(graph, base.theta, base.buffers, base.batch));
      let kinks = 0;
      // coordinates of every tensor: first, last and a few between; steps large enough to cross kinks
      for (const tensor of graph.parameters) {
        const picks = new Set([tensor.offset, tensor.offset + tensor.size - 1, ...[0.3, 0.6, 0.8].map((at) => tensor.offset + Math.floor(at * tensor.size))]);
        for (const index of picks) {
          for (const step of [1e-3, -0.2]) {
            const moved = base.theta.slice();
            moved[index] += step;
            const full = graphCost(graph, moved, base.buffers, base.batch);
            const changed = costs.perturb(index, step);
            expect(Math.abs(changed.cost - full), `${tensor.name} at ${index - tensor.offset}`).toBeLessThanOrEqual(1e-12 * Math.abs(full));
            // the change itself, against the difference of two full passes
            expect(Math.abs(changed.change - (full - costs.cost))).toBeLessThanOrEqual(1e-12 * Math.abs(full));
            // the same kink test as a rerun of every layer above (perturbAll reruns whole layers)
            const rerun = costs.perturbAll({ indices: [index], steps: [step] });
            expect(changed.kink, `${tensor.name} at ${index - tensor.offset}, step ${step}`).toBe(rerun.kink);
            if (changed.kink) kinks++;
          }
        }
      }
      if (label.startsWith("LeNet")) expect(kinks).toBeGreaterThan(0);
      expect(() => costs.perturbedCost(graph.parameterCount, 1e-3)).toThrow(RangeError);
    });
  }
});

describe("GraphPerturbedCosts marks kinks exactly", () => {
  const batch = (inputs: number[], targets: number[]) => ({ m: 1, inputs: Float64Array.from(inputs), targets: Float64Array.from(targets) });

  it("a ReLU whose input changes side of 0, and not one that stays on its side", () => {
    const graph = compileGraph({ name: "k", input: { shape: [2] }, layers: [{ type: "linear", name: "fc", out: 1 }, { type: "relu" }], loss: { type: "mse" } }, "k.json");
    // z = 0·1 + 0·2 + 1e-7: just above the kink
    const costs = new GraphPerturbedCosts(graph, Float64Array.from([0, 0, 1e-7]), new Float64Array(0), batch([1, 2], [0.5]));
    expect(costs.perturb(2, 1e-6).kink).toBe(false);
    expect(costs.perturb(2, -1e-6).kink).toBe(true);
    expect(costs.perturb(1, -1e-9).kink).toBe(false);
  });

  it("a max pool whose choice changes, or whose tied maximum moves", () => {
    const spec = { name: "k", input: { shape: [1, 2, 2] }, layers: [{ type: "conv2d", name: "c", out: 1, kernel: 1 }, { type: "maxpool2d", kernel: 2 }, { type: "flatten" }], loss: { type: "mse" } };
    const graph = compileGraph(spec, "k.json");
    const untied = new GraphPerturbedCosts(graph, Float64Array.from([1, 0]), new Float64Array(0), batch([1, 0.999, 0.2, 0.1], [0]));
    expect(untied.perturb(1, 1e-3).kink).toBe(false);
    // a negative weight makes the smallest input the largest output
    expect(untied.perturb(0, -1.5).kink).toBe(true);
    const tied = new GraphPerturbedCosts(graph, Float64Array.from([1, 0]), new Float64Array(0), batch([1, 1, 0.2, 0.1], [0]));
    expect(tied.perturb(1, 1e-6).kink).toBe(true);
  });
});
