import { createRandom } from "@gradcheck/core";
import { backprop, type Gradients } from "./backprop.js";
import type { Batch, Network } from "./network.js";
import { biasName, weightName } from "./parameters.js";

/**
 * Classic backprop bugs, reproduced on purpose: the demo shows one, and the test suites of
 * every backend check that each is caught and localized.
 */
export type Fault =
  | { readonly kind: "forgotten-l2"; readonly layers: "all" | number }
  | { readonly kind: "doubled-dw"; readonly layer: number }
  | { readonly kind: "flipped-db"; readonly layer: number }
  | { readonly kind: "wrong-activation-derivative"; readonly layer: number }
  | { readonly kind: "wrong-coordinate"; readonly layer: number; readonly row: number; readonly column: number }
  | { readonly kind: "shifted-rows"; readonly layer: number }
  | { readonly kind: "transposed-dw"; readonly layer: number }
  | { readonly kind: "missing-1/m" }
  | { readonly kind: "scaled-tensor"; readonly layer: number; readonly factor: number }
  /** dθ computed in a training step with inverted dropout on (the spec's keepProb), masks drawn from `seed` */
  | { readonly kind: "dropout-left-on"; readonly seed: number };

export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case "forgotten-l2":
      return fault.layers === "all"
        ? "L2 term (λ/m)·W forgotten in every dW"
        : `L2 term (λ/m)·W forgotten in dW${fault.layers}`;
    case "doubled-dw":
      return `dW${fault.layer} doubled`;
    case "flipped-db":
      return `sign of db${fault.layer} flipped`;
    case "wrong-activation-derivative":
      return `wrong activation derivative in layer ${fault.layer}`;
    case "wrong-coordinate":
      return `one wrong value in dW${fault.layer}[${fault.row},${fault.column}]`;
    case "shifted-rows":
      return `rows of dW${fault.layer} shifted by one`;
    case "transposed-dw":
      return `dW${fault.layer} transposed`;
    case "missing-1/m":
      return "the 1/m averaging forgotten in every gradient";
    case "scaled-tensor":
      return `dW${fault.layer} off by a factor ${fault.factor}`;
    case "dropout-left-on":
      return "dθ computed with dropout on";
  }
}

/** Names of the parameters whose gradient the fault makes wrong. */
export function faultyTensors(fault: Fault, network: Network): string[] {
  const layers = network.weights.length;
  const all = Array.from({ length: layers }, (_, index) => index + 1);
  switch (fault.kind) {
    case "forgotten-l2":
      return (fault.layers === "all" ? all : [fault.layers]).map(weightName);
    case "flipped-db":
      return [biasName(fault.layer)];
    case "wrong-activation-derivative":
      // dZ_l is wrong, and so is everything backprop derives from it below.
      return all.filter((layer) => layer <= fault.layer).flatMap((layer) => [weightName(layer), biasName(layer)]);
    case "missing-1/m":
    case "dropout-left-on":
      return all.flatMap((layer) => [weightName(layer), biasName(layer)]);
    default:
      return [weightName(fault.layer)];
  }
}

/** The gradient a backprop with this bug would produce. */
export function faultyGradients(fault: Fault, network: Network, batch: Batch): Gradients {
  if (fault.kind === "dropout-left-on") return backprop(network, batch, { dropoutMasks: dropoutMasks(network, batch.size, fault.seed) });
  if (fault.kind === "wrong-activation-derivative") {
    return backprop(network, batch, {
      derivativeOverride: { layer: fault.layer, derivative: wrongDerivative(network, fault.layer) },
    });
  }
  const { weights, biases } = backprop(network, batch);
  const m = batch.size;
  const lambdaOverM = network.spec.l2 / m;
  const sizes = network.sizes;
  switch (fault.kind) {
    case "forgotten-l2":
      weights.forEach((dW, index) => {
        if (fault.layers !== "all" && fault.layers !== index + 1) return;
        const w = network.weights[index];
        for (let i = 0; i < dW.length; i++) dW[i] -= lambdaOverM * w[i];
      });
      break;
    case "doubled-dw":
      scale(weights[fault.layer - 1], 2);
      break;
    case "flipped-db":
      scale(biases[fault.layer - 1], -1);
      break;
    case "wrong-coordinate": {
      const dW = weights[fault.layer - 1];
      const index = fault.row * sizes[fault.layer - 1] + fault.column;
      // Off by the tensor's typical magnitude: clearly wrong, yet not an outlier anyone would spot by eye.
      dW[index] += rootMeanSquare(dW) * (dW[index] >= 0 ? 1 : -1);
      break;
    }
    case "shifted-rows": {
      const dW = weights[fault.layer - 1];
      const rowLength = sizes[fault.layer - 1];
      weights[fault.layer - 1] = dW.map((_, i) => dW[(i + rowLength) % dW.length]);
      break;
    }
    case "transposed-dw": {
      const dW = weights[fault.layer - 1];
      const n = sizes[fault.layer];
      if (n !== sizes[fault.layer - 1]) throw new Error(`layer ${fault.layer} is not square`);
      weights[fault.layer - 1] = dW.map((_, i) => dW[(i % n) * n + Math.floor(i / n)]);
      break;
    }
    case "missing-1/m":
      // The cost was summed over the batch instead of averaged, L2 term included.
      [...weights, ...biases].forEach((gradient) => scale(gradient, m));
      break;
    case "scaled-tensor":
      scale(weights[fault.layer - 1], fault.factor);
      break;
  }
  return { weights, biases };
}

/** Inverted-dropout masks for every hidden layer: each unit kept with probability keepProb, scaled by 1/keepProb. */
function dropoutMasks(network: Network, m: number, seed: number): Float64Array[] {
  const keep = network.spec.keepProb;
  const random = createRandom(seed);
  return network.sizes.slice(1, -1).map((units) => Float64Array.from({ length: m * units }, () => (random() < keep ? 1 / keep : 0)));
}

/** A plausible slip for each activation: a derivative that is wrong almost everywhere. */
function wrongDerivative(network: Network, layer: number): (z: number, a: number) => number {
  switch (network.activations[layer - 1]) {
    case "relu":
      return (z) => (z > 0 ? 1 : 0.5); // leaky slope where ReLU is flat
    case "tanh":
      return (_z, a) => 1 - a; // forgot to square
    case "sigmoid":
      return (_z, a) => a; // forgot the (1 − a)
    default:
      return () => 0.5;
  }
}

function scale(values: Float64Array, factor: number): void {
  for (let i = 0; i < values.length; i++) values[i] *= factor;
}

function rootMeanSquare(values: Float64Array): number {
  let sum = 0;
  for (const value of values) sum += value * value;
  return Math.sqrt(sum / values.length);
}
