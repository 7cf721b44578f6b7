import { product } from "../arithmetic.js";
import { z } from "zod";
import { allIndices, gatherBlock } from "../changes.js";
import { formatShape, GraphSpecError, sizeOf, type LayerKind, type Shape } from "../layer.js";
import { offsetIn } from "../propagation.js";
import { layerName } from "./names.js";

export const conv2dSpec = z.strictObject({
  type: z.literal("conv2d"),
  name: layerName,
  out: z.number().int().positive().max(100_000),
  kernel: z.number().int().positive().max(1_000),
  stride: z.number().int().positive().max(1_000).default(1),
  padding: z.number().int().nonnegative().max(1_000).default(0),
  bias: z.boolean().default(true),
});
export type Conv2dSpec = z.infer<typeof conv2dSpec>;

/** The size of a convolution's or a pool's output along one dimension. */
export function windowsAlong(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/** [C, H, W] or a message naming what does not fit. */
export function imageShape(input: Shape, path: string, what: string): [number, number, number] {
  if (input.length !== 3) throw new GraphSpecError(`${path} (${what}): takes [channels, height, width] per example (NCHW), got ${formatShape(input)}`);
  return [input[0], input[1], input[2]];
}

/**
 * nn.Conv2d with square kernels and zero padding, NCHW: `weight` [out, in, k, k], `bias`
 * [out]. Each example is unfolded (im2col, [in·k·k, H'·W']) so that the work is one matrix
 * product per example, forward and backward.
 */
export const conv2d: LayerKind<Conv2dSpec> = {
  type: "conv2d",
  schema: conv2dSpec,
  outputShape(spec, input, path) {
    const [, height, width] = imageShape(input, path, `conv2d "${spec.name}"`);
    const h = windowsAlong(height, spec.kernel, spec.stride, spec.padding);
    const w = windowsAlong(width, spec.kernel, spec.stride, spec.padding);
    if (h < 1 || w < 1) {
      throw new GraphSpecError(`${path} (conv2d "${spec.name}"): a ${spec.kernel}×${spec.kernel} kernel with padding ${spec.padding} does not fit a ${height}×${width} input`);
    }
    return [spec.out, h, w];
  },
  parameters(spec, input) {
    return [{ suffix: "weight", shape: [spec.out, input[0], spec.kernel, spec.kernel], decays: true }, ...(spec.bias ? [{ suffix: "bias", shape: [spec.out] }] : [])];
  },
  forward(layer, x, m) {
    const { spec, params } = layer;
    const geometry = geometryOf(layer.input, layer.output, spec);
    const { patch, pixels } = geometry;
    const output = new Float64Array(m * spec.out * pixels);
    const columns = new Float64Array(m * patch * pixels);
    for (let n = 0; n < m; n++) {
      const unfolded = columns.subarray(n * patch * pixels, (n + 1) * patch * pixels);
      unfold(x.subarray(n * sizeOf(layer.input), (n + 1) * sizeOf(layer.input)), geometry, unfolded);
      const y = output.subarray(n * spec.out * pixels, (n + 1) * spec.out * pixels);
      product({ m: spec.out, n: pixels, k: patch, a: params[0], b: unfolded, c: y });
      if (spec.bias) for (let o = 0; o < spec.out; o++) for (let p = 0; p < pixels; p++) y[o * pixels + p] += params[1][o];
    }
    return { output, saved: columns };
  },
  // weight[o, ...] or bias[o] moves output channel o alone: by step times the unfolded row it multiplies
  perturbOwn(layer, base, index, step, m) {
    const { tensor, offset } = offsetIn(layer, index)!;
    const { patch, pixels } = geometryOf(layer.input, layer.output, layer.spec);
    const out = layer.spec.out;
    const o = tensor === 0 ? Math.floor(offset / patch) : offset;
    const row = offset % patch;
    const columns = base.forwarded.saved as Float64Array;
    const y = base.forwarded.output;
    const values = new Float64Array(m * pixels);
    for (let n = 0; n < m; n++)
      for (let p = 0; p < pixels; p++) values[n * pixels + p] = y[(n * out + o) * pixels + p] + (tensor === 0 ? step * columns[(n * patch + row) * pixels + p] : step);
    return { change: { examples: allIndices(m), slices: Int32Array.of(o), values }, kink: false };
  },
  // changed input channels: y' = y + W[:, changed channels]·unfold(Δx of those channels)
  propagate(layer, base, change) {
    const geometry = geometryOf(layer.input, layer.output, layer.spec);
    const { examples, slices } = change;
    const { kernel, pixels, channels } = geometry;
    const area = kernel * kernel;
    const sub = { ...geometry, channels: slices.length, patch: slices.length * area };
    const delta = change.values.slice();
    const before = gatherBlock(base.input, layer.input, examples, slices);
    for (let index = 0; index < delta.length; index++) delta[index] -= before[index];
    const out = layer.spec.out;
    const weights = new Float64Array(out * sub.patch);
    for (let o = 0; o < out; o++)
      for (let s = 0; s < slices.length; s++) weights.set(layer.params[0].subarray((o * channels + slices[s]) * area, (o * channels + slices[s] + 1) * area), (o * slices.length + s) * area);
    const values = gatherBlock(base.forwarded.output, layer.output, examples, allIndices(out));
    const columns = new Float64Array(sub.patch * pixels);
    const image = slices.length * geometry.height * geometry.width;
    for (let e = 0; e < examples.length; e++) {
      unfold(delta.subarray(e * image, (e + 1) * image), sub, columns);
      product({ m: out, n: pixels, k: sub.patch, a: weights, b: columns, c: values.subarray(e * out * pixels, (e + 1) * out * pixels), accumulate: true });
    }
    return { change: { examples, slices: allIndices(out), values }, kink: false };
  },
  backward(layer, _x, forwarded, dy, m, gradients) {
    const { spec, params } = layer;
    const geometry = geometryOf(layer.input, layer.output, spec);
    const { patch, pixels } = geometry;
    const columns = forwarded.saved as Float64Array;
    const dx = new Float64Array(m * sizeOf(layer.input));
    const dColumns = new Float64Array(patch * pixels);
    for (let n = 0; n < m; n++) {
      const g = dy.subarray(n * spec.out * pixels, (n + 1) * spec.out * pixels);
      product({ m: spec.out, n: patch, k: pixels, a: g, b: columns.subarray(n * patch * pixels, (n + 1) * patch * pixels), transposeB: true, c: gradients[0], accumulate: true });
      if (spec.bias) for (let o = 0; o < spec.out; o++) for (let p = 0; p < pixels; p++) gradients[1][o] += g[o * pixels + p];
      product({ m: patch, n: pixels, k: spec.out, a: params[0], transposeA: true, b: g, c: dColumns });
      fold(dColumns, geometry, dx.subarray(n * sizeOf(layer.input), (n + 1) * sizeOf(layer.input)));
    }
    return dx;
  },
};

interface Geometry {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  /** in·k·k */
  readonly patch: number;
  /** H'·W' */
  readonly pixels: number;
}

function geometryOf(input: Shape, output: Shape, spec: Conv2dSpec): Geometry {
  const [channels, height, width] = input;
  const [, outHeight, outWidth] = output;
  return { channels, height, width, outHeight, outWidth, kernel: spec.kernel, stride: spec.stride, padding: spec.padding, patch: channels * spec.kernel ** 2, pixels: outHeight * outWidth };
}

/** columns[(c·k + i)·k + j, y·W' + x] = image[c, y·s + i − p, x·s + j − p], 0 outside. */
function unfold(image: Float64Array, g: Geometry, columns: Float64Array): void {
  for (let c = 0; c < g.channels; c++)
    for (let i = 0; i < g.kernel; i++)
      for (let j = 0; j < g.kernel; j++) {
        const row = ((c * g.kernel + i) * g.kernel + j) * g.pixels;
        for (let y = 0; y < g.outHeight; y++) {
          const source = y * g.stride + i - g.padding;
          for (let x = 0; x < g.outWidth; x++) {
            const column = x * g.stride + j - g.padding;
            const inside = source >= 0 && source < g.height && column >= 0 && column < g.width;
            columns[row + y * g.outWidth + x] = inside ? image[(c * g.height + source) * g.width + column] : 0;
          }
        }
      }
}

/** The adjoint of unfold: adds each column entry back into the pixel it came from. */
function fold(columns: Float64Array, g: Geometry, image: Float64Array): void {
  for (let c = 0; c < g.channels; c++)
    for (let i = 0; i < g.kernel; i++)
      for (let j = 0; j < g.kernel; j++) {
        const row = ((c * g.kernel + i) * g.kernel + j) * g.pixels;
        for (let y = 0; y < g.outHeight; y++) {
          const source = y * g.stride + i - g.padding;
          if (source < 0 || source >= g.height) continue;
          for (let x = 0; x < g.outWidth; x++) {
            const column = x * g.stride + j - g.padding;
            if (column >= 0 && column < g.width) image[(c * g.height + source) * g.width + column] += columns[row + y * g.outWidth + x];
          }
        }
      }
}
