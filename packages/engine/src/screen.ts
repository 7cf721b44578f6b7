import type { CpuBackend, DifferenceOptions, Derivatives, PerturbedCostBackend } from "@gradcheck/compute";
import {
  coordinateAt,
  coordinateRelativeError,
  CoordinateStatus,
  createStream,
  gradientNoiseFloor,
  ScreenOutcome,
  THRESHOLDS,
  type Layout,
  type Precision,
} from "@gradcheck/core";
import type { SparseDirection } from "@gradcheck/models/evaluator";

/** Which passes of the screen are recomputed in float64 anyway: a share of each tensor, at least `minimum`. */
export interface ScreenSample {
  /** share of each tensor's coordinates */
  readonly fraction: number;
  /** coordinates per tensor at least (all of a smaller tensor) */
  readonly minimum: number;
}

export const DEFAULT_SCREEN_SAMPLE: ScreenSample = { fraction: 0.01, minimum: 32 };

export interface ScreenSettings {
  readonly layout: Layout;
  /** the user's dθ: what the screen compares against */
  readonly analytic: Float64Array;
  /** the checkpoint's precision, whose thresholds the report applies */
  readonly precision: Precision;
  /** seeds the sample, per coordinate, so that it does not depend on sharding */
  readonly seed: number;
  readonly sample?: ScreenSample;
}

/** What the screen did, and the time each side took. */
export interface ScreenStatistics {
  /** coordinates computed by the float32 screen */
  screened: number;
  /** of those, flagged (disagreement or a possible kink) and recomputed in float64 */
  flagged: number;
  /** of those, passed but recomputed in float64 as the random sample */
  sampled: number;
  screenSeconds: number;
  confirmSeconds: number;
}

/**
 * A float32 backend (gpu.js) screens every coordinate; the float64 CPU backend then recomputes
 * each one the screen flags (a disagreement with dθ, or a ReLU kink that rounding could have
 * decided), and a seeded random sample of those it passes, before any verdict is drawn.
 *
 * A coordinate passes when |n₃₂ − a| ≤ τ·max(|n₃₂| + |a|, floor) with τ a quarter of the
 * precision's warn threshold and the floor its noise floor: never looser than the report's own
 * per-coordinate test, so an unconfirmed pass can never be reported as disagreeing. The report
 * estimates ‖n − a‖ from the float64 values alone (flagged ones, and the sample standing for
 * all passes: see screenWeights), so verdicts do not carry float32 noise.
 *
 * Directional derivatives are not screened: directional mode runs on the float64 CPU.
 */
export class ScreenedBackend implements PerturbedCostBackend {
  readonly name: PerturbedCostBackend["name"];
  readonly mode: PerturbedCostBackend["mode"];
  readonly precision: PerturbedCostBackend["precision"];
  readonly statistics: ScreenStatistics = { screened: 0, flagged: 0, sampled: 0, screenSeconds: 0, confirmSeconds: 0 };
  private readonly tolerance: number;
  private readonly floor: number;
  /** per tensor: a coordinate is sampled when its uniform draw is below this */
  private readonly sampleRates: Float64Array;

  constructor(
    readonly screen: PerturbedCostBackend,
    readonly confirm: CpuBackend,
    private readonly settings: ScreenSettings,
  ) {
    this.name = screen.name;
    this.mode = screen.mode;
    this.precision = screen.precision;
    this.tolerance = THRESHOLDS[settings.precision].warn / 4;
    this.floor = gradientNoiseFloor(settings.precision, confirm.cost);
    const sample = settings.sample ?? DEFAULT_SCREEN_SAMPLE;
    this.sampleRates = Float64Array.from(settings.layout.tensors, (slot) =>
      Math.min(1, Math.max(sample.fraction, sample.minimum / Math.max(1, slot.size))),
    );
  }

  /** J(θ) in float64. */
  get cost(): number {
    return this.confirm.cost;
  }

  centralDifferences(indices: Int32Array, options: DifferenceOptions, onProgress?: (done: number) => void): Derivatives {
    const started = performance.now();
    const screened = this.screen.centralDifferences(indices, options, onProgress);
    const confirming = performance.now();
    const screen = new Uint8Array(indices.length).fill(ScreenOutcome.passed);
    const recheck: number[] = [];
    indices.forEach((index, n) => {
      if (screened.status[n] !== CoordinateStatus.checked || this.disagrees(screened.numeric[n], index)) screen[n] = ScreenOutcome.flagged;
      else if (this.sampled(index)) screen[n] = ScreenOutcome.sampled;
      else return;
      recheck.push(n);
    });
    const confirmed = this.confirm.centralDifferences(Int32Array.from(recheck, (n) => indices[n]), options);
    const numeric = Float64Array.from(screened.numeric);
    const status = Uint8Array.from(screened.status);
    recheck.forEach((n, k) => {
      numeric[n] = confirmed.numeric[k];
      status[n] = confirmed.status[k];
    });
    const statistics = this.statistics;
    statistics.screened += indices.length;
    statistics.flagged += screen.filter((outcome) => outcome === ScreenOutcome.flagged).length;
    statistics.sampled += screen.filter((outcome) => outcome === ScreenOutcome.sampled).length;
    statistics.screenSeconds += (confirming - started) / 1000;
    statistics.confirmSeconds += (performance.now() - confirming) / 1000;
    return { numeric, status, screen };
  }

  directionalDerivatives(_directions: Iterable<SparseDirection>, _step: number): Derivatives {
    throw new Error("the float32 screen covers coordinates only: directional mode runs on the cpu backend");
  }

  private disagrees(numeric: number, index: number): boolean {
    return !(coordinateRelativeError(numeric, this.settings.analytic[index], this.floor) <= this.tolerance);
  }

  /** A uniform draw per (seed, coordinate): the same however the coordinates are sharded. */
  private sampled(index: number): boolean {
    const { tensorIndex } = coordinateAt(this.settings.layout, index);
    return createStream(this.settings.seed, SAMPLE_STREAM ^ index)() < this.sampleRates[tensorIndex];
  }
}

/** Keeps the sample's streams apart from the directions' (which use small stream numbers). */
const SAMPLE_STREAM = 0x5c4ee9 << 8;
