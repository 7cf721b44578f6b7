/**
 * Columns of the weight matrices, gathered on demand: W_{l+1}[·, j] is what a change of unit j
 * of layer l moves first. One cached column per layer, instead of a transposed copy of θ.
 */
export class WeightColumns {
  private readonly cached: { unit: number; values: Float64Array }[] = [];

  /** W_q row-major [n_q, n_{q−1}]; index q − 1 */
  constructor(
    private readonly weights: readonly Float64Array[],
    private readonly sizes: readonly number[],
  ) {}

  /** Column `unit` of W_{layer+1}: n_{layer+1} values. */
  of(layer: number, unit: number): Float64Array {
    const entry = (this.cached[layer] ??= { unit: -1, values: new Float64Array(this.sizes[layer + 1]) });
    if (entry.unit !== unit) {
      const n = this.sizes[layer];
      const weights = this.weights[layer];
      for (let v = 0; v < entry.values.length; v++) entry.values[v] = weights[v * n + unit];
      entry.unit = unit;
    }
    return entry.values;
  }
}
