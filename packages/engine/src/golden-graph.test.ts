import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { openSafetensors } from "@gradcheck/checkpoint";
import { checkGraphBatch, compileGraph, graphCost, graphGradient, type CompiledGraph, type GraphBatch } from "@gradcheck/models";
import { describe, expect, it } from "vitest";

// Fixtures made by PyTorch in float64 (python/golden/make_golden.py): the state_dict under its
// own names, each parameter's .grad after backward(), the batch, and torch's loss.
const GOLDEN = fileURLToPath(new URL("../test/golden/", import.meta.url));

interface Golden {
  readonly graph: CompiledGraph;
  readonly theta: Float64Array;
  readonly buffers: Float64Array;
  readonly batch: GraphBatch;
  readonly torchLoss: number;
  readonly torchGradient: Float64Array;
}

async function golden(name: string): Promise<Golden> {
  const graph = compileGraph(JSON.parse(await readFile(`${GOLDEN}${name}.json`, "utf8")), `${name}.json`);
  const { loss } = JSON.parse(await readFile(`${GOLDEN}${name}.loss.json`, "utf8")) as { loss: number };
  const file = await openSafetensors(`${GOLDEN}${name}.safetensors`);
  try {
    const gather = async (tensors: CompiledGraph["parameters"], size: number, prefix = "") => {
      const values = new Float64Array(size);
      for (const tensor of tensors) values.set(await file.readFloat64(prefix + tensor.name), tensor.offset);
      return values;
    };
    const read = async (name: string) => (file.info(name).dtype.startsWith("I") ? file.readIntegers(name) : file.readFloat64(name));
    const inputs = await read("X");
    return {
      graph,
      theta: await gather(graph.parameters, graph.parameterCount),
      buffers: await gather(graph.buffers, graph.bufferCount),
      batch: { m: file.info("X").shape[0], inputs, targets: await read("Y") },
      torchLoss: loss,
      torchGradient: await gather(graph.parameters, graph.parameterCount, "grad."),
    };
  } finally {
    await file.close();
  }
}

describe("version 2 networks against PyTorch's own float64 forward and backward", () => {
  for (const name of ["lenet", "resnet-batch", "resnet-running", "tiny-gpt"]) {
    it(`${name}: J equals torch's loss to 1e-12 relative, and the reference gradient equals torch's .grad, tensor by tensor`, async () => {
      const { graph, theta, buffers, batch, torchLoss, torchGradient } = await golden(name);
      checkGraphBatch(graph, batch);
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
