import { coordinateAt, type Layout } from "@gradcheck/core";
import { gemm } from "@gradcheck/kernels";
import { activationDelta, activationPair, cachedActivationDelta, crossesKink } from "./activations.js";
import { forward, type ForwardPass } from "./forward.js";
import { evaluateSeries, headFor, SERIES_REACH, SERIES_STRIDE, type Head } from "./heads.js";
import { WeightColumns } from "./weight-columns.js";
import { hasLinearRegions, linearRegions, ReverseSweep, type LinearRegions } from "./linear-regions.js";
import { networkFromTheta, regularizationChange, type Batch } from "./network.js";
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
 * keeps full relative precision even for tiny steps. Above a layer whose changes stay in a
 * ReLU network's linear region, a change reaches the output along a precomputed direction
 * (linear-regions.ts); elsewhere, unitCostChanges pushes a row's coordinates up together.
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
  /** W_l row-major [n_l, n_{l−1}] (views into θ); index l − 1. */
  private readonly weights: readonly Float64Array[];
  /** Column j of W_{l+1}, the last one asked for per layer l: coordinates come unit by unit. */
  private readonly columns: WeightColumns;
  /** Z_l row-major [m, n_l]; index l. */
  private readonly rowPreActivations: Float64Array[] = [];
  /** Z_l unit-major [n_l, m]; index l. */
  private readonly unitPreActivations: Float64Array[] = [];
  /** A_l unit-major [n_l, m] for l = 0..L−1. */
  private readonly unitActivations: Float64Array[] = [];
  /** activationPair of each hidden tanh or sigmoid unit, unit-major [n_l, m]: value, complement; index l. */
  private readonly unitValues: Float64Array[] = [];
  private readonly unitComplements: Float64Array[] = [];
  /** Per-layer scratch for the two perturbations: changes of Z and of A; index l. */
  private readonly dzFirst: Float64Array[] = [];
  private readonly dzSecond: Float64Array[] = [];
  private readonly daFirst: Float64Array[] = [];
  private readonly daSecond: Float64Array[] = [];
  /** Shortcuts through ReLU/linear layers above layer l, where they apply; index l. */
  private readonly linearRegions: (LinearRegions | undefined)[] = [];
  /** The loss along each pair's direction as a polynomial (head.lossSeries), per pair; index l. */
  private readonly series: { directions: Float64Array; values: Float64Array }[] = [];

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
    this.weights = network.weights;
    this.columns = new WeightColumns(network.weights, network.sizes);
    this.cost = this.pass.cost;
    const outputs = this.pass.preActivations[this.layers - 1];
    this.headCache = this.head.cache(outputs, batch.targets, this.m, this.sizes[this.layers]);

    for (let l = 0; l <= this.layers; l++) {
      const n = this.sizes[l];
      if (l >= 1) {
        this.rowPreActivations[l] = this.pass.preActivations[l - 1];
        this.unitPreActivations[l] = transpose(this.pass.preActivations[l - 1], this.m, n);
      }
      if (l < this.layers) this.unitActivations[l] = transpose(this.pass.activations[l], this.m, n);
      this.dzFirst[l] = new Float64Array(n);
      this.dzSecond[l] = new Float64Array(n);
      this.daFirst[l] = new Float64Array(n);
      this.daSecond[l] = new Float64Array(n);
    }
    for (let l = 1; l < this.layers; l++) {
      const activation = this.hidden[l - 1];
      if (activation !== "tanh" && activation !== "sigmoid") continue;
      const z = this.unitPreActivations[l];
      this.unitValues[l] = new Float64Array(z.length);
      this.unitComplements[l] = new Float64Array(z.length);
      for (let index = 0; index < z.length; index++) [this.unitValues[l][index], this.unitComplements[l][index]] = activationPair(activation, z[index]);
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
        columns: this.columns,
        rowPreActivations: this.rowPreActivations,
      });
    }
  }

  /**
   * The unit (layer ≥ 1, unit j) whose W_l row holds coordinate `index`, when its changes go
   * through unitCostChanges: a hidden layer with no ReLU shortcut above. Otherwise undefined,
   * and costChanges takes the coordinate alone.
   */
  batchedUnit(index: number): number | undefined {
    const { tensorIndex, local } = coordinateAt(this.layout, index);
    const layer = (tensorIndex >> 1) + 1;
    if ((tensorIndex & 1) === 1 || layer === this.layers || this.linearRegions[layer]) return undefined;
    return this.layout.tensors[tensorIndex].offset + Math.floor(local / this.sizes[layer - 1]) * this.sizes[layer - 1];
  }

  /**
   * costChanges for coordinates of one row of W_l at once (all with the same batchedUnit):
   * every (coordinate, example, sign) whose change reaches the layer above is a column, and
   * the columns travel up together, ΔZ_{q+1} = W_{q+1}·ΔA_q as matrix products, in chunks
   * that bound the scratch memory. Equals costChanges coordinate by coordinate up to the
   * order of the sums, and each coordinate's result is the same bits whichever coordinates
   * come with it (shards and threads cut rows anywhere).
   */
  unitCostChanges(indices: Int32Array, firsts: Float64Array, seconds: Float64Array, out: { first: Float64Array; second: Float64Array; kink: Uint8Array }): void {
    const count = indices.length;
    if (count === 0) return;
    const { tensorIndex, local } = coordinateAt(this.layout, indices[0]);
    const layer = (tensorIndex >> 1) + 1;
    const nIn = this.sizes[layer - 1];
    const unit = Math.floor(local / nIn);
    const rowStart = this.layout.tensors[tensorIndex].offset + unit * nIn;
    const m = this.m;
    const inputs = this.unitActivations[layer - 1];
    const z = this.unitPreActivations[layer];
    const activation = this.hidden[layer - 1];
    const values = this.unitValues[layer];
    const complements = this.unitComplements[layer];
    const column = this.columns.of(layer, unit);
    const above = this.sizes[layer + 1];
    const scratch = this.batchScratch();
    const chunk = scratch.columns;
    // Column c: coordinate owner[c] (its sign in `sign`), example example[c], ΔA_l[j] = change[c].
    const owner = new Int32Array(chunk);
    const sign = new Uint8Array(chunk);
    const example = new Int32Array(chunk);
    const change = new Float64Array(chunk);
    out.first.fill(0, 0, count);
    out.second.fill(0, 0, count);
    out.kink.fill(0, 0, count);
    let columns = 0;
    const flush = () => {
      if (columns > 0) this.pushColumns(layer, columns, owner, sign, example, change, column, above, scratch, out);
      columns = 0;
    };
    for (let n = 0; n < count; n++) {
      const input = indices[n] - rowStart;
      if (input < 0 || input >= nIn) throw new Error(`coordinate ${indices[n]} is not in row ${unit} of W${layer}`);
    }
    // Example by example, so that the columns of one example are adjacent (see pushColumns).
    for (let i = 0; i < m; i++) {
      const r = unit * m + i;
      const zi = z[r];
      for (let n = 0; n < count; n++) {
        const a = inputs[(indices[n] - rowStart) * m + i];
        if (a === 0) continue;
        for (let s = 0; s < 2; s++) {
          const d = (s === 0 ? firsts[n] : seconds[n]) * a;
          if (activation === "relu" && crossesKink(zi, d)) out.kink[n] = 1;
          const delta = values ? cachedActivationDelta(activation, zi, values[r], complements[r], d) : activationDelta(activation, zi, d);
          if (delta === 0) continue;
          if (columns === chunk) flush();
          owner[columns] = n;
          sign[columns] = s;
          example[columns] = i;
          change[columns] = delta;
          columns++;
        }
      }
    }
    flush();
    for (let n = 0; n < count; n++) {
      out.first[n] /= m;
      out.second[n] /= m;
      if (this.lambda !== 0) {
        const w = this.theta[indices[n]];
        out.first[n] += regularizationChange(this.lambda, m, w, firsts[n]);
        out.second[n] += regularizationChange(this.lambda, m, w, seconds[n]);
      }
    }
  }

  /** Pushes `columns` changes of A_layer[·, j] up to the loss; adds each column's loss change to its coordinate. */
  private pushColumns(
    layer: number,
    columns: number,
    owner: Int32Array,
    sign: Uint8Array,
    example: Int32Array,
    change: Float64Array,
    column: Float64Array,
    above: number,
    scratch: BatchScratch,
    out: { first: Float64Array; second: Float64Array; kink: Uint8Array },
  ): void {
    const L = this.layers;
    // ΔZ_{l+1} [n_{l+1}, columns] = W_{l+1}[·, j]·ΔA_l[j]: rank one
    let dz = scratch.dz;
    for (let v = 0; v < above; v++) {
      const w = column[v];
      const row = v * columns;
      for (let c = 0; c < columns; c++) dz[row + c] = w * change[c];
    }
    for (let q = layer + 1; q < L; q++) {
      const n = this.sizes[q];
      const activation = this.hidden[q - 1];
      const relu = activation === "relu";
      const zT = this.unitPreActivations[q];
      const values = this.unitValues[q];
      const complements = this.unitComplements[q];
      const da = scratch.da;
      // Columns come in runs of one example: its unit's z, act(z) and complement hold for the run.
      for (let start = 0; start < columns; ) {
        const e = example[start];
        let end = start + 1;
        while (end < columns && example[end] === e) end++;
        for (let u = 0; u < n; u++) {
          const row = u * columns;
          const r = u * this.m + e;
          const zu = zT[r];
          if (values) {
            const value = values[r];
            const complement = complements[r];
            for (let c = start; c < end; c++) da[row + c] = cachedActivationDelta(activation, zu, value, complement, dz[row + c]);
          } else {
            for (let c = start; c < end; c++) {
              const d = dz[row + c];
              if (relu && crossesKink(zu, d)) out.kink[owner[c]] = 1;
              da[row + c] = activationDelta(activation, zu, d);
            }
          }
        }
        start = end;
      }
      const next = dz === scratch.dz ? scratch.next : scratch.dz;
      // whatever the chunk's size, so that a coordinate's result never depends on its company
      gemm({ m: this.sizes[q + 1], n: columns, k: n, a: this.weights[q], b: da, c: next, anySize: true });
      dz = next;
    }
    const nOut = this.sizes[L];
    const row = scratch.row;
    for (let c = 0; c < columns; c++) {
      for (let k = 0; k < nOut; k++) row[k] = dz[k * columns + c];
      const loss = this.head.lossDelta(this.headCache, this.targets, example[c] * nOut, nOut, row);
      if (sign[c] === 0) out.first[owner[c]] += loss;
      else out.second[owner[c]] += loss;
    }
  }

  private scratch?: BatchScratch;

  /** Buffers for unitCostChanges: columns per chunk so that each holds about 2M values. */
  private batchScratch(): BatchScratch {
    if (this.scratch) return this.scratch;
    const widest = Math.max(...this.sizes.slice(1));
    const columns = Math.max(64, Math.floor(BATCH_VALUES / widest));
    this.scratch = {
      columns,
      dz: new Float64Array(widest * columns),
      next: new Float64Array(widest * columns),
      da: new Float64Array(widest * columns),
      row: new Float64Array(this.sizes[this.layers]),
    };
    return this.scratch;
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
          // the loss along the pair's direction as a polynomial, where the steps are small enough
          const series = this.seriesOf(layer, regions);
          const at = r * SERIES_STRIDE;
          const reach = series[at + SERIES_STRIDE - 1];
          if (Math.abs(daFirst) <= reach && Math.abs(daSecond) <= reach) {
            sumFirst += evaluateSeries(series, at, daFirst);
            sumSecond += evaluateSeries(series, at, daSecond);
            continue;
          }
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
      const w = this.theta[index];
      regularizationFirst = regularizationChange(this.lambda, m, w, first);
      regularizationSecond = regularizationChange(this.lambda, m, w, second);
    }
    out.first = sumFirst / m + regularizationFirst;
    out.second = sumSecond / m + regularizationSecond;
    out.kink = kink;
    return out;
  }

  /** Loss changes of one example for the two perturbations, written by the head. */
  private readonly pair = new Float64Array(2);

  /**
   * Every pair's lossSeries of layer l, computed once its regions' directions are; the last
   * slot of each holds the reach in t, SERIES_REACH / D, instead of D (one division per pair,
   * not per coordinate).
   */
  private seriesOf(layer: number, regions: LinearRegions): Float64Array {
    const cached = this.series[layer];
    if (cached?.directions === regions.directions) return cached.values;
    const nOut = this.sizes[this.layers];
    const pairs = regions.directions.length / nOut;
    const values = new Float64Array(pairs * SERIES_STRIDE);
    for (let r = 0; r < pairs; r++) {
      const example = r % this.m;
      const at = r * SERIES_STRIDE;
      this.head.lossSeries(this.headCache, this.targets, example * nOut, nOut, regions.directions, r * nOut, values, at);
      values[at + SERIES_STRIDE - 1] = SERIES_REACH / values[at + SERIES_STRIDE - 1];
    }
    this.series[layer] = { directions: regions.directions, values };
    return values;
  }

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
      const column = this.columns.of(layer, unit);
      for (let v = 0; v < n; v++) {
        const w = column[v];
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
      // ΔZ_{q+1} = W_{q+1}·ΔA_q, a dot product per row of W (contiguous in θ)
      const weights = this.weights[q];
      for (let v = 0; v < nNext; v++) {
        const offset = v * n;
        let first = 0;
        let second = 0;
        for (let u = 0; u < n; u++) {
          const w = weights[offset + u];
          first += daFirstRow[u] * w;
          second += daSecondRow[u] * w;
        }
        nextFirst[v] = first;
        nextSecond[v] = second;
      }
      dzFirst = nextFirst;
      dzSecond = nextSecond;
    }
    const nOut = this.sizes[L];
    this.head.lossDeltaPair(this.headCache, this.targets, example * nOut, nOut, dzFirst, dzSecond, this.pair);
    return kink;
  }
}

/** Values per scratch buffer of unitCostChanges: 16 MB each, three of them. */
const BATCH_VALUES = 1 << 21;

interface BatchScratch {
  readonly columns: number;
  readonly dz: Float64Array;
  readonly next: Float64Array;
  readonly da: Float64Array;
  readonly row: Float64Array;
}

/** Row-major [rows, columns] -> row-major [columns, rows]. */
export function transpose(values: Float64Array, rows: number, columns: number): Float64Array {
  const out = new Float64Array(rows * columns);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c];
  return out;
}
