import { gemm } from "@gradcheck/kernels";
import type { HiddenActivation } from "./architecture.js";
import type { WeightColumns } from "./weight-columns.js";

/**
 * When every hidden layer above layer l is ReLU or linear, a change d of A_l[i,j] moves the
 * output pre-activation along a fixed direction, Δz_L = d·v_ij, for as long as no ReLU above
 * crosses its kink. For each (unit j, example i) this holds v_ij and an open interval of d
 * inside which that is exactly so; outside it the caller refines the interval or takes the
 * general path.
 *
 * All v_ij of a layer come from one reverse sweep, as matrix products: v_ij is column j of
 * ∂z_L/∂a_l for example i, and ∂z_L/∂z_q = ∂z_L/∂z_{q+1}·W_{q+1}·D_q (D_q: the ReLUs on) has
 * only n_L rows, so the sweep costs n_L·m products of the layers above, not n_l·m forward
 * passes. The intervals start out as a bound of the same cost: no ReLU above can cross while
 * |d|·Σ_{q,u} |dir_qu|/|z_qu| < 1, and Σ_q (1/|z_q|)ᵀ·|J_q|·e_j, the sum over every ReLU above of
 * what a unit change can move it relative to its distance from the kink, bounds that sum
 * from above (|J_q| ≤ |W_q|·D·|W_{q−1}|·…·|W_{l+1}|, again one sweep). Where a step falls
 * outside that bound, `refine` replaces the pair's interval by the exact one (one forward
 * push of that example's direction).
 */
export interface LinearRegions {
  /** v_ij at ((j·m + i)·nL) */
  readonly directions: Float64Array;
  /** d must satisfy lower[j·m + i] < d < upper[j·m + i] */
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  /** builds the layer's directions and bounds, once */
  prepare(): void;
  /** replaces pair (j, i)'s interval by the widest exact one; false if it already was */
  refine(unit: number, example: number): boolean;
}

/** Shrinks each exact interval slightly, so that rounding never lets a crossing through. */
const SAFETY = 1 - 1e-9;
/** The bound's interval: half of what it proves, for the rounding of the bound itself. */
const BOUND_SAFETY = 0.5;

export interface RegionInputs {
  readonly layer: number;
  readonly sizes: readonly number[];
  readonly m: number;
  readonly hidden: readonly HiddenActivation[];
  /** the sweeps shared by every layer's regions */
  readonly sweep: ReverseSweep;
  /** columns of the weights, for the first step of an exact interval */
  readonly columns: WeightColumns;
  /** Z_q row-major [m, n_q]; index q */
  readonly rowPreActivations: readonly Float64Array[];
}

export function hasLinearRegions(layer: number, layers: number, hidden: readonly HiddenActivation[]): boolean {
  for (let q = layer + 1; q < layers; q++) if (hidden[q - 1] !== "relu" && hidden[q - 1] !== "linear") return false;
  return layer < layers;
}

/**
 * ∂z_L/∂z_q for every example, and the margin sums G_q, from the output layer down, computed
 * as far down as some layer's regions ask and kept. Only for ReLU/linear layers above.
 */
export class ReverseSweep {
  /** ∂z_L/∂z_q row-major [m·n_L, n_q]: row i·n_L + o is output o of example i; index q */
  private readonly sensitivities: Float64Array[] = [];
  /** G_q [m, n_q] = C_q + D_q∘(G_{q+1}·|W_{q+1}|), C_q = 1/|Z_q| on ReLU layers; index q */
  private readonly margins: Float64Array[] = [];

  constructor(
    private readonly sizes: readonly number[],
    private readonly m: number,
    private readonly hidden: readonly HiddenActivation[],
    /** W_q row-major [n_q, n_{q−1}]; index q − 1 */
    private readonly weights: readonly Float64Array[],
    /** Z_q row-major [m, n_q]; index q */
    private readonly rowPreActivations: readonly Float64Array[],
  ) {}

  /** W_q row-major [n_q, n_{q−1}] */
  weightsOf(q: number): Float64Array {
    return this.weights[q - 1];
  }

  /** ∂z_L/∂z_q; q from 1 to L. */
  sensitivity(q: number): Float64Array {
    const layers = this.sizes.length - 1;
    const nOut = this.sizes[layers];
    const rows = this.m * nOut;
    if (!this.sensitivities[layers]) {
      const identity = new Float64Array(rows * nOut);
      for (let row = 0; row < rows; row++) identity[row * nOut + (row % nOut)] = 1;
      this.sensitivities[layers] = identity;
    }
    for (let p = layers - 1; p >= q && !this.sensitivities[p]; p--) {
      const above = this.sensitivities[p + 1];
      const n = this.sizes[p];
      const out = new Float64Array(rows * n);
      gemm({ m: rows, n, k: this.sizes[p + 1], a: above, b: this.weights[p], c: out });
      if (this.hidden[p - 1] === "relu") {
        const z = this.rowPreActivations[p];
        for (let i = 0; i < this.m; i++)
          for (let u = 0; u < n; u++) if (!(z[i * n + u] > 0)) for (let o = 0; o < nOut; o++) out[(i * nOut + o) * n + u] = 0;
      }
      this.sensitivities[p] = out;
    }
    return this.sensitivities[q];
  }

  /** G_q; q from 1 to L (G_L = 0: the output layer has no kink). */
  margin(q: number): Float64Array {
    const layers = this.sizes.length - 1;
    if (!this.margins[layers]) this.margins[layers] = new Float64Array(this.m * this.sizes[layers]);
    for (let p = layers - 1; p >= q && !this.margins[p]; p--) {
      const n = this.sizes[p];
      const out = new Float64Array(this.m * n);
      gemm({ m: this.m, n, k: this.sizes[p + 1], a: this.margins[p + 1], b: this.weights[p], absoluteB: true, c: out });
      if (this.hidden[p - 1] === "relu") {
        const z = this.rowPreActivations[p];
        // 1/|0| = ∞: a pre-activation on its kink rules the bound out (the exact interval handles it)
        for (let index = 0; index < out.length; index++) out[index] = (z[index] > 0 ? out[index] : 0) + 1 / Math.abs(z[index]);
      }
      this.margins[p] = out;
    }
    return this.margins[q];
  }
}

/** A layer's regions, built on first use. */
export function linearRegions(inputs: RegionInputs): LinearRegions {
  return new LayerRegions(inputs);
}

class LayerRegions implements LinearRegions {
  directions = new Float64Array(0);
  lower = new Float64Array(0);
  upper = new Float64Array(0);
  /** 1 where a pair's interval is the exact one */
  private exact = new Uint8Array(0);
  private direction: Float64Array;
  private next: Float64Array;

  constructor(private readonly inputs: RegionInputs) {
    const widest = Math.max(...inputs.sizes.slice(inputs.layer + 1));
    this.direction = new Float64Array(widest);
    this.next = new Float64Array(widest);
  }

  prepare(): void {
    const { layer, sizes, m, sweep } = this.inputs;
    const units = sizes[layer];
    const pairs = units * m;
    if (this.exact.length === pairs) return;
    const nOut = sizes[sizes.length - 1];
    const above = sizes[layer + 1];
    const weights = sweep.weightsOf(layer + 1);
    // v_ij: (∂z_L/∂a_l)ᵀ = W_{l+1}ᵀ·(∂z_L/∂z_{l+1})ᵀ, rows j, columns i·nL + o
    this.directions = new Float64Array(pairs * nOut);
    gemm({ m: units, n: m * nOut, k: above, a: weights, transposeA: true, b: sweep.sensitivity(layer + 1), transposeB: true, c: this.directions });
    // the bound, summed over every ReLU above: |W_{l+1}|ᵀ·G_{l+1}ᵀ, rows j, columns i
    const bounds = new Float64Array(pairs);
    gemm({ m: units, n: m, k: above, a: weights, transposeA: true, absoluteA: true, b: sweep.margin(layer + 1), transposeB: true, c: bounds });
    this.lower = new Float64Array(pairs);
    this.upper = new Float64Array(pairs);
    for (let r = 0; r < pairs; r++) {
      const reach = BOUND_SAFETY / bounds[r]; // ∞ with no ReLU above; 0 or NaN where the bound proves nothing
      this.upper[r] = reach > 0 ? reach : 0;
      this.lower[r] = -this.upper[r];
    }
    this.exact = new Uint8Array(pairs);
  }

  refine(unit: number, example: number): boolean {
    this.prepare();
    const r = unit * this.inputs.m + example;
    if (this.exact[r]) return false;
    this.exact[r] = 1;
    const [low, high] = this.exactInterval(unit, example);
    this.lower[r] = low * SAFETY;
    this.upper[r] = high * SAFETY;
    return true;
  }

  /** The widest interval of d around 0 in which no ReLU above changes side, by one forward push. */
  private exactInterval(j: number, i: number): [number, number] {
    const { layer, sizes, hidden, sweep, columns, rowPreActivations } = this.inputs;
    const layers = sizes.length - 1;
    const above = sizes[layer + 1];
    let { direction, next } = this;
    let low = -Infinity;
    let high = Infinity;
    // Direction of Z_{l+1} per unit change of A_l[i,j]: column j of W_{l+1}.
    direction.set(columns.of(layer, j).subarray(0, above));
    for (let q = layer + 1; q < layers; q++) {
      const n = sizes[q];
      const nNext = sizes[q + 1];
      const z = rowPreActivations[q];
      if (hidden[q - 1] === "relu") {
        for (let u = 0; u < n; u++) {
          const zu = z[i * n + u];
          const du = direction[u];
          if (du === 0) continue;
          // z + d·du stays on the side of z while d stays between these bounds.
          const bound = -zu / du;
          if (bound > 0 || (bound === 0 && (zu > 0 ? du < 0 : du > 0))) high = Math.min(high, bound);
          else low = Math.max(low, bound);
          if (!(zu > 0)) direction[u] = 0; // inactive: passes nothing on
        }
      }
      // the next direction, W_{q+1}·direction, a dot product per row of W
      const weights = sweep.weightsOf(q + 1);
      for (let v = 0; v < nNext; v++) {
        let sum = 0;
        for (let u = 0; u < n; u++) sum += weights[v * n + u] * direction[u];
        next[v] = sum;
      }
      [direction, next] = [next, direction];
    }
    return [low, high];
  }
}
