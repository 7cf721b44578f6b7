import { z } from "zod";
import { backwardThrough, crossedKink, forwardThrough, type ForwardTrace, type LayerKind } from "../layer.js";

export const residualSpec = z.strictObject({
  type: z.literal("residual"),
  /** compiled by the graph, each as a layer of its own */
  layers: z.array(z.unknown()).min(1).max(1_000),
});
export type ResidualSpec = z.infer<typeof residualSpec>;

/** x + f(x), f the wrapped layers; f must keep the shape. Gradients of the wrapped layers go where theirs always go. */
export const residual: LayerKind<ResidualSpec> = {
  type: "residual",
  schema: residualSpec,
  children: (spec) => spec.layers,
  // the graph checks that the wrapped layers keep this shape, and names the one that does not
  outputShape: (_, input) => input,
  parameters: () => [],
  crossesKink: (layer, base, moved) => crossedKink(layer.children, base.forwarded.saved as ForwardTrace, moved.forwarded.saved as ForwardTrace),
  forward(layer, x, m) {
    const trace = forwardThrough(layer.children, x, m);
    const output = trace.output.slice();
    for (let index = 0; index < output.length; index++) output[index] += x[index];
    return { output, saved: trace };
  },
  backward(layer, _x, forwarded, dy, m) {
    const inner = backwardThrough(layer.children, forwarded.saved as ForwardTrace, dy, m);
    const dx = dy.slice();
    for (let index = 0; index < dx.length; index++) dx[index] += inner[index];
    return dx;
  },
};
