import { product } from "../arithmetic.js";
import { z } from "zod";
import { allIndices } from "../changes.js";
import { formatShape, GraphSpecError, type LayerKind } from "../layer.js";
import { offsetIn } from "../propagation.js";
import { addRowVector, sumRows, withOutputFeatureMoved } from "./linear.js";
import { layerName } from "./names.js";

export const attentionSpec = z.strictObject({
  type: z.literal("attention"),
  name: layerName,
  heads: z.number().int().positive().max(10_000),
  causal: z.boolean().default(false),
});
export type AttentionSpec = z.infer<typeof attentionSpec>;

/** What the forward pass keeps: q, k, v of every position; each head's attention weights; the heads' concatenated outputs. */
interface AttentionSaved {
  readonly qkv: Float64Array;
  readonly weights: Float64Array;
  readonly heads: Float64Array;
}

/**
 * Multi-head self-attention on [T, d]: qkv = x·Wᵀ + b with `qkv.weight` [3d, d] (rows for q,
 * then k, then v) and `qkv.bias` [3d]; head h takes features h·d/H … (h+1)·d/H of each;
 * softmax(q·kᵀ/√(d/H)), future positions masked when causal; heads concatenated in order,
 * then `proj.weight` [d, d], `proj.bias` [d].
 */
export const attention: LayerKind<AttentionSpec> = {
  type: "attention",
  schema: attentionSpec,
  outputShape(spec, input, path) {
    if (input.length !== 2) throw new GraphSpecError(`${path} (attention "${spec.name}"): takes [positions, features] per example, got ${formatShape(input)}`);
    if (input[1] % spec.heads !== 0) throw new GraphSpecError(`${path} (attention "${spec.name}"): ${input[1]} features do not split into ${spec.heads} heads`);
    return input;
  },
  parameters: (_, [, d]) => [
    { suffix: "qkv.weight", shape: [3 * d, d], decays: true },
    { suffix: "qkv.bias", shape: [3 * d] },
    { suffix: "proj.weight", shape: [d, d], decays: true },
    { suffix: "proj.bias", shape: [d] },
  ],
  forward({ spec, input: [positions, d], params }, x, m) {
    const rows = m * positions;
    const qkv = new Float64Array(rows * 3 * d);
    product({ m: rows, n: 3 * d, k: d, a: x, b: params[0], transposeB: true, c: qkv });
    addRowVector(qkv, params[1]);
    const geometry = { positions, d, heads: spec.heads, causal: spec.causal };
    const weights = new Float64Array(m * spec.heads * positions * positions);
    const heads = new Float64Array(rows * d);
    for (let n = 0; n < m; n++) attend(geometry, qkv, n, weights, heads);
    const output = new Float64Array(rows * d);
    product({ m: rows, n: d, k: d, a: heads, b: params[2], transposeB: true, c: output });
    addRowVector(output, params[3]);
    return { output, saved: { qkv, weights, heads } satisfies AttentionSaved };
  },
  // proj.weight[o, i] or proj.bias[o] moves output feature o of every position; a qkv row
  // moves one feature of q, k or v, and so one head: that head attends again, and its
  // change goes through proj
  perturbOwn(layer, base, index, step, m) {
    const { tensor, offset } = offsetIn(layer, index)!;
    const [positions, d] = layer.input;
    const y = base.forwarded.output;
    const saved = base.forwarded.saved as AttentionSaved;
    const rows = m * positions;
    if (tensor < 2) {
      const r = tensor === 0 ? Math.floor(offset / d) : offset;
      const width = d / layer.spec.heads;
      const head = Math.floor((r % d) / width);
      const qkv = saved.qkv.slice();
      for (let row = 0; row < rows; row++) qkv[row * 3 * d + r] += tensor === 0 ? step * base.input[row * d + (offset % d)] : step;
      const heads = saved.heads.slice();
      const geometry = { positions, d, heads: layer.spec.heads, causal: layer.spec.causal };
      const weights = saved.weights.slice();
      for (let n = 0; n < m; n++) attend(geometry, qkv, n, weights, heads, head);
      const delta = new Float64Array(rows * width);
      for (let row = 0; row < rows; row++) for (let e = 0; e < width; e++) delta[row * width + e] = heads[row * d + head * width + e] - saved.heads[row * d + head * width + e];
      const values = y.slice();
      product({ m: rows, n: d, k: width, a: delta, b: layer.params[2].subarray(head * width), ldb: d, transposeB: true, c: values, accumulate: true });
      return { change: { examples: allIndices(m), slices: allIndices(positions), values }, kink: false };
    }
    // proj is a linear map of the heads' outputs
    const o = tensor === 2 ? Math.floor(offset / d) : offset;
    const values = withOutputFeatureMoved(y, d, o, step, tensor === 2 ? { x: saved.heads, features: d, i: offset % d } : undefined);
    return { change: { examples: allIndices(m), slices: allIndices(positions), values }, kink: false };
  },
  backward({ spec, input: [positions, d], params }, x, forwarded, dy, m, gradients) {
    const { qkv, weights, heads } = forwarded.saved as AttentionSaved;
    const rows = m * positions;
    product({ m: d, n: d, k: rows, a: dy, transposeA: true, b: heads, c: gradients[2], accumulate: true });
    sumRows(dy, gradients[3]);
    const dHeads = new Float64Array(rows * d);
    product({ m: rows, n: d, k: d, a: dy, b: params[2], c: dHeads });
    const dQkv = new Float64Array(rows * 3 * d);
    const geometry = { positions, d, heads: spec.heads, causal: spec.causal };
    for (let n = 0; n < m; n++) attendBackward(geometry, qkv, weights, dHeads, n, dQkv);
    product({ m: 3 * d, n: d, k: rows, a: dQkv, transposeA: true, b: x, c: gradients[0], accumulate: true });
    sumRows(dQkv, gradients[1]);
    const dx = new Float64Array(rows * d);
    product({ m: rows, n: d, k: 3 * d, a: dQkv, b: params[0], c: dx });
    return dx;
  },
};

interface Geometry {
  readonly positions: number;
  readonly d: number;
  readonly heads: number;
  readonly causal: boolean;
}

/**
 * Example n's attention weights (per head, [T, T]; 0 where masked) and heads' outputs
 * ([T, d]), or those of head `only` alone: q·kᵀ and weights·v as matrix products on strided
 * views of qkv.
 */
function attend({ positions: T, d, heads, causal }: Geometry, qkv: Float64Array, n: number, weights: Float64Array, out: Float64Array, only?: number): void {
  const width = d / heads;
  const scale = 1 / Math.sqrt(width);
  const row = n * T * 3 * d;
  for (let h = only ?? 0; h < (only === undefined ? heads : only + 1); h++) {
    const p = weights.subarray((n * heads + h) * T * T, (n * heads + h + 1) * T * T);
    product({ m: T, n: T, k: width, a: qkv.subarray(row + h * width), lda: 3 * d, b: qkv.subarray(row + d + h * width), ldb: 3 * d, transposeB: true, c: p });
    for (let t = 0; t < T; t++) {
      const last = causal ? t : T - 1;
      let largest = -Infinity;
      for (let s = 0; s <= last; s++) largest = Math.max(largest, (p[t * T + s] *= scale));
      let total = 0;
      for (let s = 0; s <= last; s++) total += p[t * T + s] = Math.exp(p[t * T + s] - largest);
      for (let s = 0; s <= last; s++) p[t * T + s] /= total;
      for (let s = last + 1; s < T; s++) p[t * T + s] = 0;
    }
    product({ m: T, n: width, k: T, a: p, b: qkv.subarray(row + 2 * d + h * width), ldb: 3 * d, c: out.subarray(n * T * d + h * width), ldc: d });
  }
}

/** Adds example n's ∂J/∂(q, k, v) into dQkv, given ∂J/∂(heads' outputs). */
function attendBackward({ positions: T, d, heads, causal }: Geometry, qkv: Float64Array, weights: Float64Array, dOut: Float64Array, n: number, dQkv: Float64Array): void {
  const width = d / heads;
  const scale = 1 / Math.sqrt(width);
  const dScores = new Float64Array(T);
  for (let h = 0; h < heads; h++) {
    const p = weights.subarray((n * heads + h) * T * T, (n * heads + h + 1) * T * T);
    for (let t = 0; t < T; t++) {
      const last = causal ? t : T - 1;
      const o = (n * T + t) * d + h * width;
      // ∂J/∂P[t, s] = dO[t]·v[s]; through the softmax, dS = P ∘ (dP − Σ_s P·dP)
      let weighted = 0;
      for (let s = 0; s <= last; s++) {
        const v = (n * T + s) * 3 * d + 2 * d + h * width;
        let dp = 0;
        for (let e = 0; e < width; e++) {
          dp += dOut[o + e] * qkv[v + e];
          dQkv[v + e] += p[t * T + s] * dOut[o + e];
        }
        dScores[s] = dp;
        weighted += p[t * T + s] * dp;
      }
      const q = (n * T + t) * 3 * d + h * width;
      for (let s = 0; s <= last; s++) {
        const dScore = p[t * T + s] * (dScores[s] - weighted) * scale;
        const k = (n * T + s) * 3 * d + d + h * width;
        for (let e = 0; e < width; e++) {
          dQkv[q + e] += dScore * qkv[k + e];
          dQkv[k + e] += dScore * qkv[q + e];
        }
      }
    }
  }
}
