import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { compileGraph, graphCost, graphGradient } from "@gradcheck/models";
import { describe, expect, it } from "vitest";
import { loadGraphCheckInput } from "./load-graph-input.js";

// Fixtures made by PyTorch in float64 (python/golden/make_golden.py): the state_dict under its
// own names, each parameter's .grad after backward(), the batch, and torch's loss.
const GOLDEN = fileURLToPath(new URL("../test/golden/", import.meta.url));

async function golden(name: string) {
  const graph = compileGraph(JSON.parse(await readFile(`${GOLDEN}${name}.json`, "utf8")), `${name}.json`);
  const { loss } = JSON.parse(await readFile(`${GOLDEN}${name}.loss.json`, "utf8")) as { loss: number };
  return { ...(await loadGraphCheckInput(`${GOLDEN}${name}.safetensors`, graph)), torchLoss: loss };
}

describe("version 2 networks against PyTorch's own float64 forward and backward", () => {
  for (const name of ["lenet", "resnet-batch", "resnet-running", "tiny-gpt", "sequential"]) {
    it(`${name}: J equals torch's loss to 1e-12 relative, and the reference gradient equals torch's .grad, tensor by tensor`, async () => {
      const { graph, theta, buffers, batch, torchLoss, analytic: torchGradient, unused } = await golden(name);
      // PyTorch's own state_dict, every tensor used (its num_batches_tracked counters aside)
      expect(unused).toEqual([]);
      const cost = graphCost(graph, theta, buffers, batch);
      expect(Math.abs(cost - torchLoss) / Math.abs(torchLoss)).toBeLessThan(1e-12);
      const { gradient } = graphGradient(graph, theta, buffers, batch);
      for (const tensor of graph.parameters) {
        const ours = gradient.subarray(tensor.offset, tensor.offset + tensor.size);
        const theirs = torchGradient.subarray(tensor.offset, tensor.offset + tensor.size);
        let difference = 0;
        let scale = 0;
        for (let index = 0; index < ours.length; index++) {
          difference = Math.max(difference, Math.abs(ours[index] - theirs[index]));
          scale = Math.max(scale, Math.abs(theirs[index]));
        }
        expect({ tensor: tensor.name, close: difference <= 1e-12 * Math.max(scale, 1e-3) }).toEqual({ tensor: tensor.name, close: true });
      }
    });
  }
});
