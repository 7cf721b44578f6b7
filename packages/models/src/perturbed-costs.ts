import { coordinateAt, type Layout } from "@gradcheck/core";
import { activationDelta, crossesKink } from "./activations.js";
import { forward, type ForwardPass } from "./forward.js";
import { headFor, type Head } from "./heads.js";
import { hasLinearRegions, linearRegions, ReverseSweep, type LinearRegions } from "./linear-regions.js";
import { networkFromTheta, type Batch } from "./network.js";
import { parameterLayout } from "./parameters.js";
import type { HiddenActivation, ModelSpec } from "./architecture.js";

/** J(θ + s·e_i) − J(θ) for two signed steps s at once, and whether either crossed a ReLU kink. */
export interface CostChanges {
  first: number;
  second: number;
  kink: boolean;
}

/**
 * Evaluates J(θ + s·e_i) without rerunning the network. W_l[j,k] or b_l[j] changes only
 * unit j of Z_l, by s·A_{l−1}[i,k] in example i; every layer below is reused, and only the
 * examples where that change is non-zero are pushed through the layers above. Changes are
 * propagated as differences (never as a new value minus the old one), so the cost change
 * keeps full relative precision even for tiny steps.
 */
export class PerturbedCostEvaluator {
  readonly layout: Layout;
  /** J(θ), from the plain forward pass this evaluator caches. */
  readonly cost: number;
  readonly pass: ForwardPass;

  private readonly sizes: readonly number[];
  private readonly layers: number;
  private readonly m: number;
  private readonly lambda: number;
  private readonly theta: Float64Array;
  private readonly hidden: readonly HiddenActivation[];
  private readonly head: Head;
  private readonly headCache: Float64Array;
  private readonly targets: Float64Array;
  /** W_lᵀ row-major [n_{l−1}, n_l]: row k holds column k of W_l; index l. */
  private readonly transposedWeights: Float64Array[] = [];
  /** Z_l row-major [m, n_l]; index l. */
  private readonly rowPreActivations: Float64Array[] = [];
  /** Z_l unit-major [n_l, m]; index l. */
  private readonly unitPreActivations: Float64Array[] = [];
  /** A_l unit-major [n_l, m] for l = 0..L−1. */
  private readonly unitActivations: Float64Array[] = [];
  /** Per-layer scratch for the two perturbations: changes of Z and of A; index l. */
  private readonly dzFirst: Float64Array[] = [];
  private readonly dzSecond: Float64Array[] = [];
  private readonly daFirst: Float64Array[] = [];
  private readonly daSecond: Float64Array[] = [];
  /** Shortcuts through ReLU/linear layers above layer l, where they apply; index l. */
  private readonly linearRegions: (LinearRegions | undefined)[] = [];

  constructor(spec: ModelSpec, theta: Float64Array, batch: Batch) {
    const network = networkFromTheta(spec, theta);
    this.layout = parameterLayout(spec);
    this.sizes = network.sizes;
    this.layers = network.weights.length;
    this.m = batch.size;
    this.lambda = spec.l2;
    this.theta = theta;
    this.hidden = network.activations.slice(0, -1) as HiddenActivation[];
    this.head = headFor(spec);
    this.targets = batch.targets;
    this.pass = forward(network, batch);
    this.cost = this.pass.cost;
    const outputs = this.pass.preActivations[this.layers - 1];
    this.headCache = this.head.cache(outputs, batch.targets, this.m, this.sizes[this.layers]);

    for (let l = 0; l <= this.layers; l++) {
      const n = this.sizes[l];
      if (l >= 1) {
        this.transposedWeights[l] = transpose(network.weights[l - 1], n, this.sizes[l - 1]);
        this.rowPreActivations[l] = this.pass.preActivations[l - 1];
        this.unitPreActivations[l] = transpose(this.pass.preActivations[l - 1], this.m, n);
      }
      if (l < this.layers) this.unitActivations[l] = transpose(this.pass.activations[l], this.m, n);
      this.dzFirst[l] = new Float64Array(n);
      this.dzSecond[l] = new Float64Array(n);
      this.daFirst[l] = new Float64Array(n);
      this.daSecond[l] = new Float64Array(n);
    }
    const sweep = new ReverseSweep(this.sizes, this.m, this.hidden, network.weights, this.rowPreActivations);
    for (let l = 1; l < this.layers; l++) {
      if (!hasLinearRegions(l, this.layers, this.hidden)) continue;
      this.linearRegions[l] = linearRegions({
        layer: l,
        sizes: this.sizes,
        m: this.m,
        hidden: this.hidden,
        sweep,
        transposedWeights: this.transposedWeights,
        rowPreActivations: this.rowPreActivations,
      });
    }
  }

  /** J(θ + step·e_index), computed incrementally. */
  perturbedCost(index: number, step: number): number {
    return this.cost + this.costChanges(index, step, 0, { first: 0, second: 0, kink: false }).first;
  }

  /**
   * J(θ + first·e_index) − J(θ) and J(θ + second·e_index) − J(θ), written into `out`
   * (reused to avoid an allocation per coordinate).
   */
  costChanges(index: number, first: number, second: number, out: CostChanges): CostChanges {
    const { tensorIndex, local } = coordinateAt(this.layout, index);
    const layer = (tensorIndex >> 1) + 1;
    const isBias = (tensorIndex & 1) === 1;
    const nIn = this.sizes[layer - 1];
    const unit = isBias ? local : Math.floor(local / nIn);
    const input = isBias ? -1 : local % nIn;
    const m = this.m;
    const inputs = isBias ? undefined : this.unitActivations[layer - 1];
    const inputOffset = input * m;
    const z = this.unitPreActivations[layer];
    const zOffset = unit * m;
    const outputLayer = layer === this.layers;
    const activation = outputLayer ? undefined : this.hidden[layer - 1];
    const relu = activation === "relu";
    const nOut = this.sizes[this.layers];
    const regions = this.linearRegions[layer];
    regions?.prepare();
    const outFirst = this.dzFirst[this.layers];
    const outSecond = this.dzSecond[this.layers];

    let sumFirst = 0;
    let sumSecond = 0;
    let kink = false;
    for (let i = 0; i < m; i++) {
      const a = inputs ? inputs[inputOffset + i] : 1;
      if (a === 0) continue;
      const dFirst = first * a;
      const dSecond = second * a;
      if (outputLayer) {
        sumFirst += this.head.unitLossDelta(this.headCache, this.targets, i * nOut, nOut, unit, dFirst);
        sumSecond += this.head.unitLossDelta(this.headCache, this.targets, i * nOut, nOut, unit, dSecond);
        continue;
      }
      const zi = z[zOffset + i];
      if (relu && (crossesKink(zi, dFirst) || crossesKink(zi, dSecond))) kink = true;
      const daFirst = activationDelta(activation!, zi, dFirst);
      const daSecond = activationDelta(activation!, zi, dSecond);
      if (daFirst === 0 && daSecond === 0) continue;
      if (regions) {
        const r = unit * m + i;
        // the bound's interval first; where the steps leave it, the exact one (computed once per pair)
        let inside = daFirst > regions.lower[r] && daFirst < regions.upper[r] && daSecond > regions.lower[r] && daSecond < regions.upper[r];
        if (!inside && regions.refine(unit, i))
          inside = daFirst > regions.lower[r] && daFirst < regions.upper[r] && daSecond > regions.lower[r] && daSecond < regions.upper[r];
        if (inside) {
          const offset = r * nOut;
          for (let k = 0; k < nOut; k++) {
            const v = regions.directions[offset + k];
            outFirst[k] = daFirst * v;
            outSecond[k] = daSecond * v;
          }
          this.head.lossDeltaPair(this.headCache, this.targets, i * nOut, nOut, outFirst, outSecond, this.pair);
          sumFirst += this.pair[0];
          sumSecond += this.pair[1];
          continue;
        }
      }
      kink = this.propagate(layer, unit, i, daFirst, daSecond) || kink;
      sumFirst += this.pair[0];
      sumSecond += this.pair[1];
    }

    let regularizationFirst = 0;
    let regularizationSecond = 0;
    if (!isBias && this.lambda !== 0) {
      // λ/(2m)·((w + s)² − w²) = λ/(2m)·s·(2w + s)
      const w = this.theta[index];
      const scale = this.lambda / (2 * m);
      regularizationFirst = scale * first * (2 * w + first);
      regularizationSecond = scale * second * (2 * w + second);
    }
    out.first = sumFirst / m + regularizationFirst;
    out.second = sumSecond / m + regularizationSecond;
    out.kink = kink;
    return out;
  }

  /** Loss changes of one example for the two perturbations, written by the head. */
  private readonly pair = new Float64Array(2);

  /**
   * Pushes a change of A_layer[example, unit] up to the loss for both perturbations;
   * leaves the loss changes in `pair` and returns whether a ReLU kink was crossed.
   */
  private propagate(layer: number, unit: number, example: number, daFirst: number, daSecond: number): boolean {
    let kink = false;
    const L = this.layers;
    let dzFirst = this.dzFirst[layer + 1];
    let dzSecond = this.dzSecond[layer + 1];
    {
      const n = this.sizes[layer + 1];
      const weights = this.transposedWeights[layer + 1];
      const offset = unit * n;
      for (let v = 0; v < n; v++) {
        const w = weights[offset + v];
        dzFirst[v] = daFirst * w;
        dzSecond[v] = daSecond * w;
      }
    }
    for (let q = layer + 1; q < L; q++) {
      const n = this.sizes[q];
      const nNext = this.sizes[q + 1];
      const activation = this.hidden[q - 1];
      const relu = activation === "relu";
      const z = this.rowPreActivations[q];
      const zOffset = example * n;
      const daFirstRow = this.daFirst[q];
      const daSecondRow = this.daSecond[q];
      for (let u = 0; u < n; u++) {
        const zu = z[zOffset + u];
        if (relu && (crossesKink(zu, dzFirst[u]) || crossesKink(zu, dzSecond[u]))) kink = true;
        daFirstRow[u] = activationDelta(activation, zu, dzFirst[u]);
        daSecondRow[u] = activationDelta(activation, zu, dzSecond[u]);
      }
      const nextFirst = this.dzFirst[q + 1];
      const nextSecond = this.dzSecond[q + 1];
      nextFirst.fill(0);
      nextSecond.fill(0);
      const weights = this.transposedWeights[q + 1];
      for (let u = 0; u < n; u++) {
        const first = daFirstRow[u];
        const second = daSecondRow[u];
        if (first === 0 && second === 0) continue;
        const offset = u * nNext;
        for (let v = 0; v < nNext; v++) {
          const w = weights[offset + v];
          nextFirst[v] += first * w;
          nextSecond[v] += second * w;
        }
      }
      dzFirst = nextFirst;
      dzSecond = nextSecond;
    }
    const nOut = this.sizes[L];
    this.head.lossDeltaPair(this.headCache, this.targets, example * nOut, nOut, dzFirst, dzSecond, this.pair);
    return kink;
  }
}

/** Row-major [rows, columns] -> row-major [columns, rows]. */
export function transpose(values: Float64Array, rows: number, columns: number): Float64Array {
  const out = new Float64Array(rows * columns);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c];
  return out;
}
