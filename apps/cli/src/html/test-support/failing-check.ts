import { CpuBackend } from "@gradcheck/compute";
import type { Report } from "@gradcheck/contracts";
import { CoordinateStatus, createRandom, gradientNoiseFloor, COORDINATE_FLOOR_FRACTION } from "@gradcheck/core";
import { DEFAULT_CHECK_OPTIONS, runLocalCheck, type CheckInput } from "@gradcheck/engine";
import {
  backprop,
  faultyGradients,
  flattenGradients,
  networkFromTheta,
  parameterLayout,
  parseModelSpec,
  randomBatch,
  randomTheta,
  type Fault,
} from "@gradcheck/models";
import type { CoordinateErrors } from "../html-report.js";

export interface FailingCheck {
  readonly report: Report;
  readonly coordinateErrors: CoordinateErrors[];
}

export interface BadColumn {
  /** 1-based layer whose dW gets the bad column */
  readonly layer: number;
  readonly column: number;
  readonly factor: number;
}

const EPS = 1e-6;

export interface Bugs {
  /** a classic backprop bug, as the engine's own tests reproduce it */
  readonly fault?: Fault;
  /** one column of dW_layer scaled: a bug that touches a single input unit */
  readonly badColumn?: BadColumn;
}

export interface CheckSetup {
  readonly seed?: number;
  readonly batchSize?: number;
  /** training step recorded in the checkpoint; null gives a step-unknown warning */
  readonly step?: number | null;
}

/**
 * A real check, no mocks: a random model, the reference backprop gradient with the given bugs,
 * the engine's report, and per-coordinate relative errors from the CPU backend's own central
 * differences.
 */
export async function failingCheck(specInput: unknown, bugs: Bugs, options: CheckSetup = {}): Promise<FailingCheck> {
  const { seed = 7, batchSize = 8, step = 0 } = options;
  const spec = parseModelSpec(specInput, "html-report test model");
  const random = createRandom(seed);
  const theta = randomTheta(spec, random);
  const batch = randomBatch(spec, batchSize, random);
  const network = networkFromTheta(spec, theta);
  const gradients = bugs.fault ? faultyGradients(bugs.fault, network, batch) : backprop(network, batch);
  if (bugs.badColumn) {
    const { layer, column, factor } = bugs.badColumn;
    const dW = gradients.weights[layer - 1];
    const columns = network.sizes[layer - 1];
    for (let row = 0; row < dW.length / columns; row++) dW[row * columns + column] *= factor;
  }
  const analytic = flattenGradients(spec, gradients);

  const input: CheckInput = { spec, theta, analytic, batch, precision: "F64", step };
  const report = await runLocalCheck(input, { ...DEFAULT_CHECK_OPTIONS, eps: EPS, top: 5, threads: 1 });
  return { report, coordinateErrors: coordinateErrors(input, EPS) };
}

/** |n − a| / max(|n| + |a|, floor) per coordinate, with the floor the engine uses; NaN on kinks. */
function coordinateErrors(input: CheckInput, eps: number): CoordinateErrors[] {
  const backend = new CpuBackend(input.spec, input.theta, input.batch);
  const layout = parameterLayout(input.spec);
  const indices = Int32Array.from({ length: layout.total }, (_, i) => i);
  const { numeric, status } = backend.centralDifferences(indices, { step: { kind: "fixed", eps } });
  const checked = (i: number) => status[i] === CoordinateStatus.checked;
  let largest = 0;
  for (let i = 0; i < layout.total; i++) {
    if (checked(i)) largest = Math.max(largest, Math.abs(numeric[i]) + Math.abs(input.analytic[i]));
  }
  const floor = Math.max(1e-300, COORDINATE_FLOOR_FRACTION * largest, gradientNoiseFloor(input.precision, backend.cost));
  return layout.tensors.map((slot) => {
    const errors = new Float64Array(slot.size);
    for (let k = 0; k < slot.size; k++) {
      const i = slot.offset + k;
      const n = numeric[i];
      const a = input.analytic[i];
      errors[k] = checked(i) ? Math.abs(n - a) / Math.max(Math.abs(n) + Math.abs(a), floor) : NaN;
    }
    return { name: slot.name, shape: [...slot.shape], errors };
  });
}
