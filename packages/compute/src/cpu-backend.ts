import { centralDifference, CoordinateStatus, realizedSteps, richardson, stepSize } from "@gradcheck/core";
import {
  DirectionalCostEvaluator,
  PerturbedCostEvaluator,
  type Batch,
  type CostChanges,
  type ModelSpec,
  type SparseDirection,
} from "@gradcheck/models/evaluator";
import type { DifferenceOptions, Derivatives, PerturbedCostBackend } from "./backend.js";

const PROGRESS_EVERY = 1024;

/** Float64 central differences on the CPU through the incremental evaluators. */
export class CpuBackend implements PerturbedCostBackend {
  readonly name = "cpu";
  readonly mode = null;
  readonly precision = "float64" as const;
  // Each evaluator is built on first use: a thread that only takes directions never holds the
  // coordinate evaluator's arrays (transposed activations, linear regions, batch buffers).
  private perturbed?: PerturbedCostEvaluator;
  private directional?: DirectionalCostEvaluator;

  constructor(
    private readonly spec: ModelSpec,
    private readonly theta: Float64Array,
    private readonly batch: Batch,
  ) {}

  get evaluator(): PerturbedCostEvaluator {
    return (this.perturbed ??= new PerturbedCostEvaluator(this.spec, this.theta, this.batch));
  }

  get cost(): number {
    return (this.perturbed ?? this.directionalEvaluator()).cost;
  }

  private directionalEvaluator(): DirectionalCostEvaluator {
    return (this.directional ??= new DirectionalCostEvaluator(this.spec, this.theta, this.batch, this.perturbed?.pass));
  }

  /**
   * (J(θ + h₊e_i) − J(θ − h₋e_i)) / (h₊ + h₋) with the realised steps h₊, h₋. Both cost
   * changes come from the evaluator directly, so nothing cancels against J(θ).
   */
  centralDifferences(indices: Int32Array, options: DifferenceOptions, onProgress?: (done: number) => void): Derivatives {
    const numeric = new Float64Array(indices.length);
    const status = new Uint8Array(indices.length);
    const { evaluator } = this;
    let reported = 0;
    for (let start = 0; start < indices.length; ) {
      // Coordinates of one row of W_l with no ReLU shortcut above travel up together.
      const row = evaluator.batchedUnit(indices[start]);
      let end = start + 1;
      if (row !== undefined) while (end < indices.length && evaluator.batchedUnit(indices[end]) === row) end++;
      // a lone coordinate of such a row too: its bits must not depend on where a shard was cut
      if (row !== undefined) this.rowDifferences(indices.subarray(start, end), options, numeric.subarray(start, end), status.subarray(start, end));
      else for (let n = start; n < end; n++) this.oneDifference(indices[n], options, numeric, status, n);
      start = end;
      if (onProgress && start - reported >= PROGRESS_EVERY) onProgress((reported = start));
    }
    onProgress?.(indices.length);
    return { numeric, status };
  }

  /**
   * (J(θ + h₊e_i) − J(θ − h₋e_i)) / (h₊ + h₋) with the realised steps h₊, h₋. Both cost
   * changes come from the evaluator directly, so nothing cancels against J(θ).
   */
  private oneDifference(index: number, options: DifferenceOptions, numeric: Float64Array, status: Uint8Array, n: number): void {
    const { evaluator } = this;
    const changes = this.changes;
    const estimate = (h: number) => {
      const steps = realizedSteps(this.theta[index], h);
      evaluator.costChanges(index, steps.plus, -steps.minus, changes);
      return centralDifference(changes.first, changes.second, steps);
    };
    const h = stepSize(options.step, this.theta[index]);
    let value = estimate(h);
    let kink = changes.kink;
    if (options.richardson) {
      value = richardson(value, estimate(h / 2));
      kink ||= changes.kink;
    }
    numeric[n] = value;
    status[n] = kink ? CoordinateStatus.kink : CoordinateStatus.checked;
  }

  private readonly changes: CostChanges = { first: 0, second: 0, kink: false };

  /** oneDifference for coordinates of one row of W_l, through the evaluator's batched path. */
  private rowDifferences(indices: Int32Array, options: DifferenceOptions, numeric: Float64Array, status: Uint8Array): void {
    const count = indices.length;
    const out = { first: new Float64Array(count), second: new Float64Array(count), kink: new Uint8Array(count) };
    const firsts = new Float64Array(count);
    const seconds = new Float64Array(count);
    const estimate = (scale: number, values: Float64Array, kinks: Uint8Array) => {
      const steps = Array.from(indices, (index) => realizedSteps(this.theta[index], scale * stepSize(options.step, this.theta[index])));
      steps.forEach((step, n) => {
        firsts[n] = step.plus;
        seconds[n] = -step.minus;
      });
      this.evaluator.unitCostChanges(indices, firsts, seconds, out);
      steps.forEach((step, n) => {
        values[n] = centralDifference(out.first[n], out.second[n], step);
        kinks[n] |= out.kink[n];
      });
    };
    const kinks = new Uint8Array(count);
    estimate(1, numeric, kinks);
    if (options.richardson) {
      const half = new Float64Array(count);
      estimate(0.5, half, kinks);
      for (let n = 0; n < count; n++) numeric[n] = richardson(numeric[n], half[n]);
    }
    for (let n = 0; n < count; n++) status[n] = kinks[n] ? CoordinateStatus.kink : CoordinateStatus.checked;
  }

  directionalDerivatives(directions: Iterable<SparseDirection>, step: number, extrapolate = false): Derivatives {
    const evaluator = this.directionalEvaluator();
    const numeric: number[] = [];
    const status: number[] = [];
    for (const direction of directions) {
      const estimate = (h: number) => {
        const plus = evaluator.costChange(direction, h);
        const minus = evaluator.costChange(direction, -h);
        return { value: (plus.change - minus.change) / (2 * h), kink: plus.kink || minus.kink };
      };
      const full = estimate(step);
      const half = extrapolate ? estimate(step / 2) : undefined;
      numeric.push(half ? richardson(full.value, half.value) : full.value);
      status.push(full.kink || half?.kink ? CoordinateStatus.kink : CoordinateStatus.checked);
    }
    return { numeric: Float64Array.from(numeric), status: Uint8Array.from(status) };
  }
}
