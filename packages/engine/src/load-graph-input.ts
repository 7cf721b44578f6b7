import { CheckpointError, FLOAT_DTYPES, openSafetensors } from "@gradcheck/checkpoint";
import { checkGraphBatch, graphGradientName, matchCheckpointToGraph, type CompiledGraph, type GraphBatch } from "@gradcheck/models";
import { readFinite } from "./load-check-input.js";

/** A version 2 network's check input: θ, dθ (PyTorch's .grad), the buffers and the batch. */
export interface GraphCheckInput {
  readonly graph: CompiledGraph;
  readonly theta: Float64Array;
  readonly analytic: Float64Array;
  readonly buffers: Float64Array;
  readonly batch: GraphBatch;
  readonly unused: readonly string[];
}

/**
 * Reads a checkpoint of a version 2 network under its state_dict names, after checking every
 * name, shape and dtype against the spec (matchCheckpointToGraph); values must be finite and
 * ids in range. Errors name the file, the tensor and the fault.
 */
export async function loadGraphCheckInput(checkpointPath: string, graph: CompiledGraph, label = checkpointPath): Promise<GraphCheckInput> {
  const file = await openSafetensors(checkpointPath, label);
  try {
    const stored = new Map(file.header.tensors.map((tensor) => [tensor.name, { shape: tensor.shape, dtype: tensor.dtype }]));
    const { batchSize, unused } = matchCheckpointToGraph(graph, stored, label);
    // token and class ids are stored as integers; matchCheckpointToGraph saw to which
    const read = (name: string) => readFinite(file, name, label, !(FLOAT_DTYPES as readonly string[]).includes(file.info(name).dtype));
    const theta = new Float64Array(graph.parameterCount);
    const analytic = new Float64Array(graph.parameterCount);
    for (const parameter of graph.parameters) {
      theta.set(await read(parameter.name), parameter.offset);
      analytic.set(await read(graphGradientName(parameter.name)), parameter.offset);
    }
    const buffers = new Float64Array(graph.bufferCount);
    for (const buffer of graph.buffers) buffers.set(await read(buffer.name), buffer.offset);
    const batch = { m: batchSize, inputs: await read("X"), targets: await read("Y") };
    try {
      checkGraphBatch(graph, batch);
    } catch (error) {
      throw new CheckpointError(`${label}: ${(error as Error).message}`);
    }
    return { graph, theta, analytic, buffers, batch, unused };
  } finally {
    await file.close();
  }
}
