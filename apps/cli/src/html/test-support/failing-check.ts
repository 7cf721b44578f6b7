import type { Report } from "@gradcheck/contracts";
import { createRandom } from "@gradcheck/core";
import { DEFAULT_CHECK_OPTIONS, runLocalCheckWithResults, type CheckInput } from "@gradcheck/engine";
import {
  backprop,
  faultyGradients,
  flattenGradients,
  networkFromTheta,
  parseModelSpec,
  randomBatch,
  randomTheta,
  type Fault,
} from "@gradcheck/models";
import { coordinateErrorsFor } from "../../coordinate-errors.js";
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
 * and the engine's report with its per-coordinate relative errors.
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
  const { report, results } = await runLocalCheckWithResults(input, { ...DEFAULT_CHECK_OPTIONS, eps: EPS, top: 5, threads: 1 });
  return { report, coordinateErrors: coordinateErrorsFor(input, report, results) };
}
