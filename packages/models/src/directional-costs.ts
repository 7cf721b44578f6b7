import type { Layout } from "@gradcheck/core";
import { activationDelta, crossesKink } from "./activations.js";
import type { HiddenActivation, ModelSpec } from "./architecture.js";
import { forward, type ForwardPass } from "./forward.js";
import { gemm } from "@gradcheck/kernels";
import { transpose } from "./perturbed-costs.js";
import { headFor, type Head } from "./heads.js";
import { networkFromTheta, regularizationChange, type Batch, type Network } from "./network.js";
import { parameterLayout } from "./parameters.js";

/**
 * A direction v in θ-space: v[indices[n]] = values[n] (ascending indices), or, without
 * indices, v[start + n] = values[n] over one contiguous range (a tensor, or part of one).
 */
export type SparseDirection =
  | { readonly indices: Int32Array; readonly values: Float64Array }
  | { readonly start: number; readonly values: Float64Array };

/** θ-index of the direction's n-th entry. */
export function directionIndex(direction: SparseDirection, n: number): number {
  return "indices" in direction ? direction.indices[n] : direction.start + n;
}

export interface DirectionalChange {
  /** J(θ + s·v) − J(θ) */
  change: number;
  /** whether some ReLU pre-activation crossed its kink on the way */
  kink: boolean;
}

/**
 * J(θ + s·v) − J(θ) along an arbitrary sparse direction v, without cancellation: the change
 * of every pre-activation is computed directly,
 *   ΔZ_l = ΔA_{l−1}·W_lᵀ + (A_{l−1} + ΔA_{l−1})·ΔW_lᵀ + Δb_l,
 * starting at the lowest layer v touches, and pushed through the activations and the loss
 * as differences (see activationDelta and Head.lossDelta).
 */
export class DirectionalCostEvaluator {
  readonly layout: Layout;
  readonly cost: number;

  private readonly network: Network;
  private readonly pass: ForwardPass;
  private readonly head: Head;
  private readonly headCache: Float64Array;
  private readonly targets: Float64Array;
  private readonly m: number;
  private readonly layers: number;
  private readonly sizes: readonly number[];
  /** ΔZ_lᵀ and ΔA_lᵀ, unit-major [n_l, m]; index l. */
  private readonly dzT: Float64Array[] = [];
  private readonly daT: Float64Array[] = [];
  /** A_lᵀ for l = 0..L−1 and Z_lᵀ for l = 1..L, unit-major [n_l, m]. */
  private readonly unitActivations: Float64Array[] = [];
  private readonly unitPreActivations: Float64Array[] = [];
  private readonly row: Float64Array;
  /** s·(A_l + ΔA_l)ᵀ, unit-major [n_l, m], for the products of whole-tensor directions; index l. */
  private readonly scaledInputs: Float64Array[] = [];

  /** `pass` is the plain forward pass at θ when the caller already has it. */
  constructor(
    spec: ModelSpec,
    theta: Float64Array,
    batch: Batch,
    pass?: ForwardPass,
  ) {
    this.network = networkFromTheta(spec, theta);
    this.layout = parameterLayout(spec);
    this.pass = pass ?? forward(this.network, batch);
    this.cost = this.pass.cost;
    this.head = headFor(spec);
    this.targets = batch.targets;
    this.m = batch.size;
    this.sizes = this.network.sizes;
    this.layers = this.network.weights.length;
    const nOut = this.sizes[this.layers];
    this.headCache = this.head.cache(this.pass.preActivations[this.layers - 1], batch.targets, this.m, nOut);
    for (let l = 0; l <= this.layers; l++) {
      this.dzT[l] = new Float64Array(this.m * this.sizes[l]);
      this.daT[l] = new Float64Array(this.m * this.sizes[l]);
      if (l < this.layers) this.unitActivations[l] = transpose(this.pass.activations[l], this.m, this.sizes[l]);
      if (l < this.layers) this.scaledInputs[l] = new Float64Array(this.m * this.sizes[l]);
      if (l > 0) this.unitPreActivations[l] = transpose(this.pass.preActivations[l - 1], this.m, this.sizes[l]);
    }
    this.row = new Float64Array(nOut);
  }

  costChange(direction: SparseDirection, step: number): DirectionalChange {
    const { m, sizes, layers } = this;
    const runs = this.layerRuns(direction);
    const lowest = runs.findIndex(([from, to], layer) => layer > 0 && to > from);
    if (lowest === -1) return { change: 0, kink: false };

    let kink = false;
    let regularization = 0;
    const lambda = this.network.spec.l2;
    for (let l = lowest; l <= layers; l++) {
      const n = sizes[l];
      const nIn = sizes[l - 1];
      const weights = this.network.weights[l - 1];
      // ΔZ_lᵀ, unit-major so that every update below walks memory in order.
      const dzT = this.dzT[l];
      dzT.fill(0);
      const inputsT = this.unitActivations[l - 1];
      const daInT = this.daT[l - 1];
      // ΔA_{l−1}·W_lᵀ, as ΔZᵀ += W_l·ΔA_{l−1}ᵀ
      if (l > lowest) gemm({ m: n, n: m, k: nIn, a: weights, b: daInT, c: dzT, accumulate: true });
      const [from, to] = runs[l];
      const weightCount = n * nIn;
      const offset = this.layout.tensors[2 * (l - 1)].offset;
      let first = from;
      if (to - from >= weightCount && directionIndex(direction, from) === offset && directionIndex(direction, from + weightCount - 1) === offset + weightCount - 1) {
        // All of W_l (ascending indices, so every entry): (A + ΔA)·ΔWᵀ as ΔZᵀ += ΔW·(s·(A + ΔA)ᵀ)
        const scaled = this.scaledInputs[l - 1];
        for (let index = 0; index < nIn * m; index++) scaled[index] = step * (inputsT[index] + (l > lowest ? daInT[index] : 0));
        const values = direction.values.subarray(from, from + weightCount);
        gemm({ m: n, n: m, k: nIn, a: values, b: scaled, c: dzT, accumulate: true });
        if (lambda !== 0) {
          for (let local = 0; local < weightCount; local++) {
            const delta = step * values[local];
            regularization += regularizationChange(lambda, m, weights[local], delta);
          }
        }
        first = from + weightCount;
      }
      for (let e = first; e < to; e++) {
        const value = direction.values[e];
        if (value === 0) continue;
        const delta = step * value;
        const local = directionIndex(direction, e) - offset;
        if (local >= weightCount) {
          const out = (local - weightCount) * m;
          for (let i = 0; i < m; i++) dzT[out + i] += delta;
          continue;
        }
        // (A + ΔA)·ΔWᵀ
        const unit = Math.floor(local / nIn);
        const input = local - unit * nIn;
        const out = unit * m;
        const source = input * m;
        if (l > lowest) for (let i = 0; i < m; i++) dzT[out + i] += (inputsT[source + i] + daInT[source + i]) * delta;
        else for (let i = 0; i < m; i++) dzT[out + i] += inputsT[source + i] * delta;
        const w = weights[local];
        regularization += regularizationChange(lambda, m, w, delta);
      }
      if (l === layers) break;
      const activation = this.network.activations[l - 1] as HiddenActivation;
      const zT = this.unitPreActivations[l];
      const daT = this.daT[l];
      for (let index = 0; index < m * n; index++) {
        if (activation === "relu" && crossesKink(zT[index], dzT[index])) kink = true;
        daT[index] = activationDelta(activation, zT[index], dzT[index]);
      }
    }

    const nOut = sizes[layers];
    const dzOutT = this.dzT[layers];
    let lossChange = 0;
    for (let i = 0; i < m; i++) {
      for (let k = 0; k < nOut; k++) this.row[k] = dzOutT[k * m + i];
      lossChange += this.head.lossDelta(this.headCache, this.targets, i * nOut, nOut, this.row);
    }
    return { change: lossChange / m + regularization, kink };
  }

  /** [from, to) of the direction's entries in each layer: indices ascend and W_l, b_l are adjacent in θ. */
  private layerRuns(direction: SparseDirection): [number, number][] {
    const runs: [number, number][] = [[0, 0]];
    const count = direction.values.length;
    let entry = 0;
    for (let l = 1; l <= this.layers; l++) {
      const end = this.layout.tensors[2 * l - 1].offset + this.layout.tensors[2 * l - 1].size;
      const from = entry;
      if ("indices" in direction) {
        const { indices } = direction;
        while (entry < count && indices[entry] < end) {
          if (entry > 0 && indices[entry] <= indices[entry - 1]) throw new Error("a direction's indices must ascend");
          entry++;
        }
      } else entry = Math.min(count, Math.max(entry, end - direction.start));
      runs.push([from, entry]);
    }
    return runs;
  }
}
