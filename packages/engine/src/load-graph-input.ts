import { CheckpointError, FLOAT_DTYPES, openSafetensors } from "@gradcheck/checkpoint";
import { lowestPrecision, type Precision } from "@gradcheck/core";
import { checkGraphBatch, graphGradientName, matchCheckpointToGraph, type CompiledGraph } from "@gradcheck/models";
import type { GraphCheckInput } from "./check-input.js";
import { parseStep, readFinite, unusedTensorsWarnings } from "./load-check-input.js";

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
    // θ in shared memory, as for version 1: threads read it without a copy
    const theta = new Float64Array(new SharedArrayBuffer(8 * graph.parameterCount));
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
    const precision = lowestPrecision(graph.parameters.flatMap((parameter) => [parameter.name, graphGradientName(parameter.name)]).map((name) => file.info(name).dtype as Precision));
    return { graph, theta, analytic, buffers, batch, precision, step: parseStep(file.header.metadata.step, label), loadWarnings: unusedTensorsWarnings(unused) };
  } finally {
    await file.close();
  }
}
