import { expm1Small, tanhSmall } from "./small-argument-math.js";
import type { HiddenActivation } from "./architecture.js";

/** σ(z), computed without overflow for either sign. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + e^z) without overflow. */
export function softplus(z: number): number {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

export function activate(activation: HiddenActivation, z: number): number {
  switch (activation) {
    case "relu":
      return z > 0 ? z : 0;
    case "tanh":
      return Math.tanh(z);
    case "sigmoid":
      return sigmoid(z);
    case "linear":
      return z;
  }
}

/** d act / dz at z, given a = act(z). ReLU's derivative at 0 is taken as 0. */
export function activationDerivative(activation: HiddenActivation, z: number, a: number): number {
  switch (activation) {
    case "relu":
      return z > 0 ? 1 : 0;
    case "tanh":
      return 1 - a * a;
    case "sigmoid":
      return a * (1 - a);
    case "linear":
      return 1;
  }
}

/**
 * act(z + dz) − act(z) computed without the cancellation of subtracting two nearby values,
 * so that tiny steps keep full relative precision:
 *   tanh(z+d) − tanh(z) = tanh(d)·(1 − tanh(z)·tanh(z+d))
 *   σ(z+d) − σ(z)       = −σ(z+d)·σ(−z)·expm1(−d)
 */
export function activationDelta(activation: HiddenActivation, z: number, dz: number): number {
  switch (activation) {
    case "relu": {
      const moved = z + dz;
      if (z > 0) return moved > 0 ? dz : -z;
      return moved > 0 ? moved : 0;
    }
    case "tanh":
      return dz === 0 ? 0 : Math.tanh(dz) * (1 - Math.tanh(z) * Math.tanh(z + dz));
    case "sigmoid":
      return dz === 0 ? 0 : -sigmoid(z + dz) * sigmoid(-z) * Math.expm1(-dz);
    case "linear":
      return dz;
  }
}

/**
 * act(z) and its complement, for cachedActivationDelta: tanh(z) and sech²(z) = 1 − tanh²(z)
 * (from cosh, so that a saturated unit keeps its small slope to full precision); σ(z) and
 * σ(−z). Unused for ReLU and linear units.
 */
export function activationPair(activation: HiddenActivation, z: number): [number, number] {
  switch (activation) {
    case "tanh": {
      const cosh = Math.cosh(z);
      return [Math.tanh(z), 1 / (cosh * cosh)];
    }
    case "sigmoid":
      return [sigmoid(z), sigmoid(-z)];
    default:
      return [0, 0];
  }
}

/**
 * activationDelta with activationPair(z) = (value, complement) at hand: the addition theorems
 * leave no library call for the small changes finite differences make,
 *   tanh(z+d) − tanh(z) = t·sech²(z) / (1 + tanh(z)·t),  t = tanh(d)
 *   σ(z+d) − σ(z)       = −σ(z)·σ(−z)·E / (1 + σ(−z)·E),  E = expm1(−d)
 */
export function cachedActivationDelta(activation: HiddenActivation, z: number, value: number, complement: number, dz: number): number {
  switch (activation) {
    case "tanh": {
      const t = tanhSmall(dz);
      return (t * complement) / (1 + value * t);
    }
    case "sigmoid": {
      const e = expm1Small(-dz);
      return (-value * complement * e) / (1 + complement * e);
    }
    default:
      return activationDelta(activation, z, dz);
  }
}

/** True when z and z + dz lie on different sides of ReLU's kink at 0. */
export function crossesKink(z: number, dz: number): boolean {
  return z > 0 !== z + dz > 0;
}
