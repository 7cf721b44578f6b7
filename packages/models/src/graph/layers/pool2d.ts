import { z } from "zod";
import { GraphSpecError, sizeOf, type BoundLayer, type LayerKind, type Shape } from "../layer.js";
import { imageShape, windowsAlong } from "./conv2d.js";

const window = {
  kernel: z.number().int().positive().max(1_000),
  /** defaults to the kernel, as in PyTorch */
  stride: z.number().int().positive().max(1_000).optional(),
};
export const maxPool2dSpec = z.strictObject({ type: z.literal("maxpool2d"), ...window });
export const avgPool2dSpec = z.strictObject({ type: z.literal("avgpool2d"), ...window });
export type MaxPool2dSpec = z.infer<typeof maxPool2dSpec>;
export type AvgPool2dSpec = z.infer<typeof avgPool2dSpec>;
type PoolSpec = MaxPool2dSpec | AvgPool2dSpec;

/** What a max pool keeps: the input index each output came from, and whether another element of its window tied it. */
export interface MaxPoolSaved {
  readonly argmax: Int32Array;
  readonly ties: Uint8Array;
}

function poolShape(spec: PoolSpec, input: Shape, path: string): Shape {
  const [channels, height, width] = imageShape(input, path, spec.type);
  const stride = spec.stride ?? spec.kernel;
  const h = windowsAlong(height, spec.kernel, stride, 0);
  const w = windowsAlong(width, spec.kernel, stride, 0);
  if (h < 1 || w < 1) throw new GraphSpecError(`${path} (${spec.type}): a ${spec.kernel}×${spec.kernel} window does not fit a ${height}×${width} input`);
  return [channels, h, w];
}

/** Calls visit(output index, input index of the window's top-left element) for every window of every example. */
function eachWindow(layer: BoundLayer<PoolSpec>, m: number, visit: (out: number, corner: number, width: number) => void): void {
  const [channels, height, width] = layer.input;
  const [, outHeight, outWidth] = layer.output;
  const stride = layer.spec.stride ?? layer.spec.kernel;
  let out = 0;
  for (let plane = 0; plane < m * channels; plane++)
    for (let y = 0; y < outHeight; y++) for (let x = 0; x < outWidth; x++) visit(out++, (plane * height + y * stride) * width + x * stride, width);
}

/** nn.MaxPool2d without padding: the first largest element of each window (as PyTorch picks it). */
export const maxPool2d: LayerKind<MaxPool2dSpec> = {
  type: "maxpool2d",
  schema: maxPool2dSpec,
  outputShape: poolShape,
  parameters: () => [],
  rowwise: true,
  crossesKink(_, base, moved) {
    const before = base.forwarded.saved as MaxPoolSaved;
    const after = moved.forwarded.saved as MaxPoolSaved;
    for (let out = 0; out < before.argmax.length; out++) {
      if (before.argmax[out] !== after.argmax[out]) return true;
      // a tie is a kink only where the tied maximum moves (ReLU zeros tied at 0 mostly stay put)
      if (before.ties[out] && base.forwarded.output[out] !== moved.forwarded.output[out]) return true;
      if (after.ties[out] && !before.ties[out]) return true;
    }
    return false;
  },
  forward(layer, x, m) {
    const k = layer.spec.kernel;
    const total = m * sizeOf(layer.output);
    const output = new Float64Array(total);
    const argmax = new Int32Array(total);
    const ties = new Uint8Array(total);
    // eachWindow's loops written out: this runs for every perturbed channel of a check
    const [channels, height, width] = layer.input;
    const [, outHeight, outWidth] = layer.output;
    const stride = layer.spec.stride ?? k;
    let out = 0;
    for (let plane = 0; plane < m * channels; plane++)
      for (let y = 0; y < outHeight; y++)
        for (let xOut = 0; xOut < outWidth; xOut++, out++) {
          const corner = (plane * height + y * stride) * width + xOut * stride;
          let best = corner;
          let tied = false;
          for (let i = 0; i < k; i++)
            for (let j = 0; j < k; j++) {
              const index = corner + i * width + j;
              if (x[index] > x[best]) {
                best = index;
                tied = false;
              } else if (index !== best && x[index] === x[best]) tied = true;
            }
          output[out] = x[best];
          argmax[out] = best;
          ties[out] = tied ? 1 : 0;
        }
    return { output, saved: { argmax, ties } satisfies MaxPoolSaved };
  },
  backward(layer, _x, forwarded, dy, m) {
    const { argmax } = forwarded.saved as MaxPoolSaved;
    const dx = new Float64Array(m * sizeOf(layer.input));
    for (let out = 0; out < argmax.length; out++) dx[argmax[out]] += dy[out];
    return dx;
  },
};

/** nn.AvgPool2d without padding: the mean of each k×k window. */
export const avgPool2d: LayerKind<AvgPool2dSpec> = {
  type: "avgpool2d",
  schema: avgPool2dSpec,
  outputShape: poolShape,
  parameters: () => [],
  rowwise: true,
  forward(layer, x, m) {
    const k = layer.spec.kernel;
    const output = new Float64Array(m * sizeOf(layer.output));
    eachWindow(layer, m, (out, corner, width) => {
      let sum = 0;
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) sum += x[corner + i * width + j];
      output[out] = sum / (k * k);
    });
    return { output };
  },
  backward(layer, _x, _forwarded, dy, m) {
    const k = layer.spec.kernel;
    const dx = new Float64Array(m * sizeOf(layer.input));
    eachWindow(layer, m, (out, corner, width) => {
      const share = dy[out] / (k * k);
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) dx[corner + i * width + j] += share;
    });
    return dx;
  },
};
