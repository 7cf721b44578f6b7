import { forward, headFor, networkFromTheta, type Batch, type HiddenActivation, type ModelSpec } from "@gradcheck/models";
import type { Input } from "gpu.js";
import { ACTIVATION_CODE, headCode } from "./gpujs-kernels.js";
import { loadGpuJs, type GpuJsMode } from "./gpujs-mode.js";

/** The unperturbed network as the kernels read it: float32 uploads of the float64 forward pass. */
export interface DeviceModel {
  readonly mode: GpuJsMode;
  /** examples m */
  readonly examples: number;
  /** [n0, ..., nL] */
  readonly sizes: readonly number[];
  /** activation code of hidden layer q at index q − 1 */
  readonly activations: readonly number[];
  readonly head: number;
  /** A_{l−1} with a last column of ones, [m][n_{l−1} + 1]; index l = 1..L */
  readonly inputs: readonly Input[];
  /** Z_q [m][n_q]; index q = 1..L−1 */
  readonly preActivations: readonly Input[];
  /** W_q [n_q][n_{q−1}]; index q = 2..L */
  readonly weights: readonly Input[];
  /** the head's per-example cache (softmax p, σ(z) or residual), [m][nL] */
  readonly cache: Input;
  readonly targets: Input;
}

/** Runs the float64 forward pass once and converts what the kernels read; also returns J(θ). */
export function uploadModel(spec: ModelSpec, theta: Float64Array, batch: Batch, mode: GpuJsMode): { model: DeviceModel; cost: number } {
  const gpuJs = loadGpuJs();
  // row-major [rows, columns] as gpu.js reads it: x = column, y = row
  const matrix = (values: Float32Array, rows: number, columns: number): Input =>
    new gpuJs.Input(values as unknown as number[], [columns, rows]);
  const network = networkFromTheta(spec, theta);
  const pass = forward(network, batch);
  const { sizes } = network;
  const m = batch.size;
  const layers = sizes.length - 1;
  const inputs: Input[] = [];
  const preActivations: Input[] = [];
  const weights: Input[] = [];
  for (let l = 1; l <= layers; l++) {
    inputs[l] = matrix(withOnes(pass.activations[l - 1], m, sizes[l - 1]), m, sizes[l - 1] + 1);
    if (l < layers) preActivations[l] = matrix(Float32Array.from(pass.preActivations[l - 1]), m, sizes[l]);
    if (l > 1) weights[l] = matrix(Float32Array.from(network.weights[l - 1]), sizes[l], sizes[l - 1]);
  }
  const nOut = sizes[layers];
  const cache = headFor(spec).cache(pass.preActivations[layers - 1], batch.targets, m, nOut);
  const model: DeviceModel = {
    mode,
    examples: m,
    sizes,
    activations: network.activations.slice(0, -1).map((activation) => ACTIVATION_CODE[activation as HiddenActivation]),
    head: headCode(spec),
    inputs,
    preActivations,
    weights,
    cache: matrix(Float32Array.from(cache), m, nOut),
    targets: matrix(Float32Array.from(batch.targets), m, nOut),
  };
  return { model, cost: pass.cost };
}

/** A row-major [m, n] matrix in float32 with a last column of ones, [m, n + 1]: biases are weights on it. */
function withOnes(values: Float64Array, m: number, n: number): Float32Array {
  const out = new Float32Array(m * (n + 1));
  for (let i = 0; i < m; i++) {
    out.set(values.subarray(i * n, (i + 1) * n), i * (n + 1));
    out[i * (n + 1) + n] = 1;
  }
  return out;
}
