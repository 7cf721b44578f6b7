import type { HiddenActivation } from "./architecture.js";

/**
 * When every hidden layer above layer l is ReLU or linear, a change d of A_l[i,j] moves the
 * output pre-activation along a fixed direction, Δz_L = d·v_ij, for as long as no ReLU above
 * crosses its kink. For each (unit j, example i) this holds v_ij and the open interval of d
 * inside which that is exactly so; outside it the caller takes the general path.
 * Units are filled on first use (see ensureUnit), so a check that perturbs a few units
 * pays for those alone.
 */
export interface LinearRegions {
  /** v_ij at ((j·m + i)·nL) */
  readonly directions: Float64Array;
  /** d must satisfy lower[j·m + i] < d < upper[j·m + i] */
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  /** fills unit j's rows if they are not filled yet */
  ensureUnit(unit: number): void;
}

/** Shrinks each interval slightly, so that rounding never lets a crossing through. */
const SAFETY = 1 - 1e-9;

export interface RegionInputs {
  readonly layer: number;
  readonly sizes: readonly number[];
  readonly m: number;
  readonly hidden: readonly HiddenActivation[];
  /** W_qᵀ row-major [n_{q−1}, n_q]; index q */
  readonly transposedWeights: readonly Float64Array[];
  /** Z_q row-major [m, n_q]; index q */
  readonly rowPreActivations: readonly Float64Array[];
}

export function hasLinearRegions(layer: number, layers: number, hidden: readonly HiddenActivation[]): boolean {
  for (let q = layer + 1; q < layers; q++) if (hidden[q - 1] !== "relu" && hidden[q - 1] !== "linear") return false;
  return layer < layers;
}

/** Regions whose units are filled when first asked for. */
export function lazyLinearRegions(inputs: RegionInputs): LinearRegions {
  const { layer, sizes, m, hidden, transposedWeights, rowPreActivations } = inputs;
  const layers = sizes.length - 1;
  const units = sizes[layer];
  const nOut = sizes[layers];
  const directions = new Float64Array(units * m * nOut);
  const lower = new Float64Array(units * m);
  const upper = new Float64Array(units * m);
  const filled = new Uint8Array(units);
  const widest = Math.max(...sizes.slice(layer + 1));
  let direction = new Float64Array(widest);
  let next = new Float64Array(widest);

  const fill = (j: number) => {
    for (let i = 0; i < m; i++) {
      let low = -Infinity;
      let high = Infinity;
      // Direction of Z_{l+1} per unit change of A_l[i,j]: column j of W_{l+1}.
      const first = sizes[layer + 1];
      direction.set(transposedWeights[layer + 1].subarray(j * first, (j + 1) * first));
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
        next.fill(0, 0, nNext);
        const weights = transposedWeights[q + 1];
        for (let u = 0; u < n; u++) {
          const du = direction[u];
          if (du === 0) continue;
          for (let v = 0; v < nNext; v++) next[v] += du * weights[u * nNext + v];
        }
        [direction, next] = [next, direction];
      }
      directions.set(direction.subarray(0, nOut), (j * m + i) * nOut);
      lower[j * m + i] = low * SAFETY;
      upper[j * m + i] = high * SAFETY;
    }
  };
  return {
    directions,
    lower,
    upper,
    ensureUnit(unit) {
      if (filled[unit]) return;
      fill(unit);
      filled[unit] = 1;
    },
  };
}
