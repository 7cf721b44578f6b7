import { createStream, roundingTo, UNIT_ROUNDOFF, type Precision, type TensorMeasurement } from "@gradcheck/core";
import { inArithmetic, settle } from "./arithmetic.js";
import type { CompiledGraph } from "./graph-spec.js";
import { bindGraph, graphGradient, type GraphBatch } from "./graph-network.js";
import { backwardThrough, forwardThrough } from "./layer.js";
import { lossAndGradient } from "./losses.js";

/** Emulated backprops per study: below float64 one plainly rounded, the others (all, in float64) with every rounding nudged. */
const STUDY_RUNS = 3;

/**
 * What a correct backprop in `precision` gets wrong on this network and batch through rounding
 * alone, per parameter tensor: the float64 gradient (reference), and the largest deviation
 * from it of STUDY_RUNS emulated backprops, each with θ, the buffers and the features rounded,
 * every matrix product in that arithmetic, and every layer's output and gradient rounded (the
 * later runs nudge each rounding by up to a unit roundoff, so that other orders of summation
 * and fused kernels are sampled). Each coordinate's scale is its own |reference| plus the
 * tensor's root mean square: the first-order size of what rounds there, so that a coordinate
 * near 0 in a tensor of large gradients is allowed the tensor's rounding, not none.
 * In float64 every run nudges: that samples float64's own rounding, which is what a gradient
 * that is 0 up to rounding (a bias under batch norm) shows.
 */
export function graphRoundingStudy(
  graph: CompiledGraph,
  theta: Float64Array,
  buffers: Float64Array,
  batch: GraphBatch,
  precision: Precision,
): { readonly runs: number; readonly tensors: TensorMeasurement[] } {
  const reference = graphGradient(graph, theta, buffers, batch).gradient;
  const runs = STUDY_RUNS;
  const deviation = new Float64Array(reference.length);
  const u = UNIT_ROUNDOFF[precision];
  const round = roundingTo(precision);
  for (let run = 0; run < runs; run++) {
    const random = createStream(run, 0x67726170);
    const rounding = run === 0 && precision !== "F64" ? round : (value: number) => round(value * (1 + u * (2 * random() - 1)));
    const emulated = emulatedGraphGradient(graph, theta, buffers, batch, rounding, precision === "F32");
    for (let i = 0; i < reference.length; i++) deviation[i] = Math.max(deviation[i], Math.abs(emulated[i] - reference[i]));
  }
  const tensors = graph.parameters.map((tensor, index): TensorMeasurement => {
    const part = (values: Float64Array) => values.subarray(tensor.offset, tensor.offset + tensor.size);
    const own = part(reference);
    let squares = 0;
    for (const value of own) squares += value * value;
    const rms = own.length === 0 ? 0 : Math.sqrt(squares / own.length);
    return { tensor: index, reference: own, deviation: part(deviation), scales: own.map((value) => Math.abs(value) + rms), switches: new Float64Array(own.length) };
  });
  return { runs, tensors };
}

/** ∂J/∂θ as an implementation in another arithmetic computes it (see graphRoundingStudy). */
export function emulatedGraphGradient(
  graph: CompiledGraph,
  theta: Float64Array,
  buffers: Float64Array,
  batch: GraphBatch,
  round: (value: number) => number,
  float32Products: boolean,
): Float64Array {
  return inArithmetic(round, float32Products, () => {
    const rounded = theta.map(round);
    const gradient = new Float64Array(graph.parameterCount);
    const layers = bindGraph(graph, rounded, buffers.map(round), gradient);
    // token ids are exact integers, not values to round
    const inputs = graph.spec.input.dtype === "index" ? batch.inputs : batch.inputs.map(round);
    const trace = forwardThrough(layers, inputs, batch.m);
    const loss = lossAndGradient(graph.spec.loss, trace.output, graph.output, batch.targets, batch.m);
    backwardThrough(layers, trace, settle(loss.gradient), batch.m);
    const lambda = graph.spec.l2;
    for (const tensor of graph.parameters) {
      if (!tensor.decays || lambda === 0) continue;
      for (let i = tensor.offset; i < tensor.offset + tensor.size; i++) gradient[i] = round(gradient[i] + round((lambda / batch.m) * rounded[i]));
    }
    return gradient;
  });
}
