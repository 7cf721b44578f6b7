import { createRandom } from "@gradcheck/core";
import { compileGraph, type CompiledGraph } from "../graph-spec.js";
import { bindGraph, graphGradient, type GraphBatch } from "../graph-network.js";
import { backwardThrough, forwardThrough, sizeOf, type Shape } from "../layer.js";
import { lossAndGradient } from "../losses.js";

/** A network, its tensors and a batch, drawn from a seed. */
export interface Problem {
  readonly graph: CompiledGraph;
  readonly theta: Float64Array;
  readonly buffers: Float64Array;
  readonly batch: GraphBatch;
}

export function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * A one-layer (or given-layers) network with an MSE loss against random targets, so that any
 * output shape works; running variances are positive, token ids and class ids in range.
 */
export function problem(layers: unknown[], input: { shape: Shape; dtype?: "float" | "index"; vocab?: number }, m: number, seed: number, loss: object = { type: "mse" }): Problem {
  const random = createRandom(seed);
  const graph = compileGraph({ name: "property", input, layers, loss }, "test spec");
  const theta = Float64Array.from({ length: graph.parameterCount }, () => 0.6 * gaussian(random));
  const buffers = new Float64Array(graph.bufferCount);
  for (const tensor of graph.buffers) {
    for (let index = tensor.offset; index < tensor.offset + tensor.size; index++) buffers[index] = tensor.name.endsWith("running_var") ? 0.5 + random() : gaussian(random);
  }
  const inputs = Float64Array.from({ length: m * sizeOf(input.shape) }, () => (input.dtype === "index" ? Math.floor(random() * input.vocab!) : gaussian(random)));
  const classes = graph.output[graph.output.length - 1];
  const indexTargets = (loss as { type: string; target?: string }).type === "cross-entropy" && ((loss as { target?: string }).target ?? "index") === "index";
  const targets = Float64Array.from({ length: m * sizeOf(graph.target) }, () => (indexTargets ? Math.floor(random() * classes) : random()));
  return { graph, theta, buffers, batch: { m, inputs, targets } };
}

/** ∂J/∂θ and ∂J/∂X by the reference backward passes. */
export function analytic({ graph, theta, buffers, batch }: Problem): { cost: number; theta: Float64Array; inputs: Float64Array } {
  const { gradient, cost } = graphGradient(graph, theta, buffers, batch);
  const layers = bindGraph(graph, theta, buffers, new Float64Array(graph.parameterCount));
  const trace = forwardThrough(layers, batch.inputs, batch.m);
  const loss = lossAndGradient(graph.spec.loss, trace.output, graph.output, batch.targets, batch.m);
  return { cost, theta: gradient, inputs: backwardThrough(layers, trace, loss.gradient, batch.m) };
}

/**
 * Central differences of J over θ, or over X when `of` is "inputs", with Richardson's
 * extrapolation (4·D(h/2) − D(h))/3, so that truncation is O(h⁴) and a badly conditioned
 * point (a norm over values nearly equal) does not swamp the comparison.
 */
export function centralDifferences(p: Problem, cost: (p: Problem) => number, of: "theta" | "inputs"): Float64Array {
  const values = of === "theta" ? p.theta : (p.batch.inputs as Float64Array);
  const result = new Float64Array(values.length);
  for (let index = 0; index < values.length; index++) {
    const saved = values[index];
    const difference = (h: number) => {
      values[index] = saved + h;
      const plus = cost(p);
      values[index] = saved - h;
      const minus = cost(p);
      values[index] = saved;
      return (plus - minus) / (2 * h);
    };
    const h = 1e-4 * Math.max(1, Math.abs(saved));
    result[index] = (4 * difference(h / 2) - difference(h)) / 3;
  }
  return result;
}

/**
 * Whether two gradients agree: ‖a − b‖ ≤ 1e-7·(‖a‖ + ‖b‖) + 1e-9·√n. The absolute part lets a
 * gradient that is all but zero (a norm over two values hardly moves its output) agree with
 * differences' own rounding; it is a hundred times that rounding here (step 1e-4 with
 * Richardson: ~1e-11 on costs of order 1), and far below what any real bug changes.
 */
export function gradientsAgree(a: Float64Array, b: Float64Array): { agree: boolean; gap: number } {
  let difference = 0;
  let sizeA = 0;
  let sizeB = 0;
  for (let index = 0; index < a.length; index++) {
    difference += (a[index] - b[index]) ** 2;
    sizeA += a[index] ** 2;
    sizeB += b[index] ** 2;
  }
  const allowed = 1e-7 * (Math.sqrt(sizeA) + Math.sqrt(sizeB)) + 1e-9 * Math.sqrt(a.length);
  return { agree: Math.sqrt(difference) <= allowed, gap: Math.sqrt(difference) / (Math.sqrt(sizeA) + Math.sqrt(sizeB) || 1) };
}
