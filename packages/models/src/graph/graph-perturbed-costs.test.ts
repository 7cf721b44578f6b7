import { describe, expect, it } from "vitest";
import { graphCost } from "./graph-network.js";
import { compileGraph } from "./graph-spec.js";
import { GraphPerturbedCosts } from "./graph-perturbed-costs.js";
import { problem } from "./test-support/central.js";
import { lenetSpec, transformerSpec } from "./test-support/models.js";

describe("GraphPerturbedCosts", () => {
  for (const [label, spec] of [
    ["LeNet with l2 and running batch norm", lenetSpec(12, "running")],
    ["LeNet with batch statistics", lenetSpec(12, "batch")],
    ["a causal transformer", transformerSpec()],
  ] as const) {
    it(`${label}: each perturbed cost equals a full forward pass of the perturbed θ`, () => {
      const { input, layers, loss, l2 } = spec as { input: never; layers: unknown[]; loss: object; l2?: number };
      const base = problem(layers, input, 3, 11, loss);
      const graph = l2 ? { ...base.graph, spec: { ...base.graph.spec, l2 } } : base.graph;
      const costs = new GraphPerturbedCosts(graph, base.theta, base.buffers, base.batch);
      expect(costs.cost).toBe(graphCost(graph, base.theta, base.buffers, base.batch));
      // a coordinate of every tensor, first and last
      for (const tensor of graph.parameters) {
        for (const index of [tensor.offset, tensor.offset + tensor.size - 1]) {
          const step = 1e-3 * (1 + Math.abs(base.theta[index]));
          const moved = base.theta.slice();
          moved[index] += step;
          const full = graphCost(graph, moved, base.buffers, base.batch);
          const incremental = costs.perturbedCost(index, step);
          // the layers run the same arithmetic; only the l2 term is summed another way
          expect(Math.abs(incremental - full)).toBeLessThanOrEqual(1e-14 * Math.abs(full));
          if (!l2) expect(incremental).toBe(full);
        }
      }
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
