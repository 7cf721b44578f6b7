import { bindGraph, gradientThrough, type BoundLayer, type CompiledGraph, type GraphBatch, type LayerKind } from "@gradcheck/models";

/**
 * A user's backprop with one bug in one layer's backward pass: the reference backward passes
 * everywhere else, and for the layer named `layer` the buggy `backward` below. Each bug is
 * written as a user would get it wrong; the forward passes stay correct.
 */
export type Backward = LayerKind["backward"];
type Bug = (correct: Backward) => Backward;

export function buggyGradient(graph: CompiledGraph, theta: Float64Array, buffers: Float64Array, batch: GraphBatch, layer: string, bug: Bug): Float64Array {
  const gradient = new Float64Array(graph.parameterCount);
  let found = false;
  const replace = (bound: BoundLayer): BoundLayer => {
    const spec = bound.spec as { name?: string; type: string };
    if ((spec.name ?? bound.path) !== layer) return { ...bound, children: bound.children.map(replace) };
    found = true;
    return { ...bound, kind: { ...bound.kind, backward: bug(bound.kind.backward.bind(bound.kind)) } };
  };
  const layers = bindGraph(graph, theta, buffers, gradient).map(replace);
  if (!found) throw new Error(`no layer ${layer}`);
  return gradientThrough(graph, layers, theta, batch, gradient).gradient;
}

const scratchLike = (gradients: readonly Float64Array[]) => gradients.map((g) => new Float64Array(g.length));

/** dx through the kernel rotated by 180° (the forward's correlation mistaken for a convolution). */
export const flippedKernelInBackward: Bug = (correct) => (layer, x, forwarded, dy, m, gradients) => {
  const channels = layer.input[0];
  const outputs = layer.output[0];
  const k = Math.round(Math.sqrt(layer.params[0].length / (outputs * channels)));
  const flipped = new Float64Array(layer.params[0].length);
  for (let o = 0; o < outputs; o++)
    for (let c = 0; c < channels; c++)
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) flipped[((o * channels + c) * k + i) * k + j] = layer.params[0][((o * channels + c) * k + (k - 1 - i)) * k + (k - 1 - j)];
  correct(layer, x, forwarded, dy, m, gradients);
  return correct({ ...layer, params: [flipped, ...layer.params.slice(1)] }, x, forwarded, dy, m, scratchLike(gradients));
};

/** ∂J/∂weight with the padding off by one pixel: the output gradient meets the input one pixel down and right. */
export const wrongPaddingInBackward: Bug = (correct) => (layer, x, forwarded, dy, m, gradients) => {
  const [outputs, height, width] = layer.output;
  const shifted = new Float64Array(dy.length);
  for (let plane = 0; plane < m * outputs; plane++)
    for (let y = 1; y < height; y++) for (let z = 1; z < width; z++) shifted[(plane * height + y) * width + z] = dy[(plane * height + y - 1) * width + z - 1];
  const dx = correct(layer, x, forwarded, dy, m, [new Float64Array(gradients[0].length), ...gradients.slice(1)]);
  correct(layer, x, forwarded, shifted, m, [gradients[0], ...scratchLike(gradients.slice(1))]);
  return dx;
};

/** A 2×2 max pool's gradient sent to the chosen element's horizontal neighbour in its window. */
export const maxPoolGradientToWrongElement: Bug = () => (layer, _x, forwarded, dy, m) => {
  const { argmax } = forwarded.saved as { argmax: Int32Array };
  const dx = new Float64Array(m * layer.input.reduce((a, b) => a * b, 1));
  for (let out = 0; out < argmax.length; out++) dx[argmax[out] ^ 1] += dy[out];
  return dx;
};

/** Layer norm's input gradient without its mean term: γ·dy/σ − x̂·mean(γ·dy·x̂)/σ, the −mean(γ·dy)/σ left out. */
export const layerNormWithoutMeanTerm: Bug = (correct) => (layer, x, forwarded, dy, m, gradients) => {
  correct(layer, x, forwarded, dy, m, gradients);
  const { normalized, inverseDeviation } = forwarded.saved as { normalized: Float64Array; inverseDeviation: Float64Array };
  const features = layer.input[layer.input.length - 1];
  const gain = layer.params[0];
  const dx = new Float64Array(dy.length);
  for (let row = 0; row < dy.length / features; row++) {
    let projection = 0;
    for (let f = 0; f < features; f++) projection += gain[f] * dy[row * features + f] * normalized[row * features + f];
    projection /= features;
    for (let f = 0; f < features; f++) {
      const at = row * features + f;
      dx[at] = inverseDeviation[row] * (gain[f] * dy[at] - normalized[at] * projection);
    }
  }
  return dx;
};

/** An embedding's gradient assigned per occurrence instead of summed: a repeated token keeps its last occurrence only. */
export const embeddingGradientLostForRepeats: Bug = () => (layer, ids, _forwarded, dy, _m, gradients) => {
  const dim = layer.output[layer.output.length - 1];
  ids.forEach((id, position) => {
    for (let f = 0; f < dim; f++) gradients[0][id * dim + f] = dy[position * dim + f];
  });
  return new Float64Array(ids.length);
};

/** Attention's backward pass, written out, with one of two mistakes. */
function attentionBackward(mistake: "none" | "no-scale" | "no-causal-mask"): Bug {
  return () => (layer, x, forwarded, dy, m, gradients) => {
    const { qkv, heads: headOutputs } = forwarded.saved as { qkv: Float64Array; heads: Float64Array };
    const [T, d] = layer.input;
    const { heads, causal } = layer.spec as unknown as { heads: number; causal: boolean };
    const width = d / heads;
    const scale = mistake === "no-scale" ? 1 : 1 / Math.sqrt(width);
    const [wQkv, , wProj] = layer.params;
    const rows = m * T;
    // proj: out = heads·Wᵀ + b
    const dHeads = new Float64Array(rows * d);
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < d; o++) {
        const g = dy[r * d + o];
        gradients[3][o] += g;
        for (let i = 0; i < d; i++) {
          gradients[2][o * d + i] += g * headOutputs[r * d + i];
          dHeads[r * d + i] += g * wProj[o * d + i];
        }
      }
    const dQkv = new Float64Array(rows * 3 * d);
    const at = (n: number, t: number, part: number, h: number) => (n * T + t) * 3 * d + part * d + h * width;
    for (let n = 0; n < m; n++)
      for (let h = 0; h < heads; h++)
        for (let t = 0; t < T; t++) {
          // the probabilities recomputed here: with the mistake, over every position
          const last = causal && mistake !== "no-causal-mask" ? t : T - 1;
          const p = new Float64Array(T);
          let largest = -Infinity;
          for (let s = 0; s <= last; s++) {
            let score = 0;
            for (let e = 0; e < width; e++) score += qkv[at(n, t, 0, h) + e] * qkv[at(n, s, 1, h) + e];
            p[s] = score / Math.sqrt(width);
            largest = Math.max(largest, p[s]);
          }
          let total = 0;
          for (let s = 0; s <= last; s++) total += p[s] = Math.exp(p[s] - largest);
          for (let s = 0; s <= last; s++) p[s] /= total;
          const o = (n * T + t) * d + h * width;
          const dp = new Float64Array(T);
          let weighted = 0;
          for (let s = 0; s <= last; s++) {
            for (let e = 0; e < width; e++) {
              dp[s] += dHeads[o + e] * qkv[at(n, s, 2, h) + e];
              dQkv[at(n, s, 2, h) + e] += p[s] * dHeads[o + e];
            }
            weighted += p[s] * dp[s];
          }
          for (let s = 0; s <= last; s++) {
            const dScore = p[s] * (dp[s] - weighted) * scale;
            for (let e = 0; e < width; e++) {
              dQkv[at(n, t, 0, h) + e] += dScore * qkv[at(n, s, 1, h) + e];
              dQkv[at(n, s, 1, h) + e] += dScore * qkv[at(n, t, 0, h) + e];
            }
          }
        }
    // qkv = x·Wᵀ + b
    const dx = new Float64Array(rows * d);
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < 3 * d; o++) {
        const g = dQkv[r * 3 * d + o];
        gradients[1][o] += g;
        for (let i = 0; i < d; i++) {
          gradients[0][o * d + i] += g * x[r * d + i];
          dx[r * d + i] += g * wQkv[o * d + i];
        }
      }
    return dx;
  };
}

export const attentionWithoutScale = attentionBackward("no-scale");
export const causalMaskMissingInBackward = attentionBackward("no-causal-mask");
/** The same written-out backward without a mistake: it must agree with the reference. */
export const attentionWrittenOut = attentionBackward("none");
