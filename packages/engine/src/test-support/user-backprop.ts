import { createRandom, roundingTo, type Precision } from "@gradcheck/core";
import { emulatedGradient, networkFromTheta, parseModelSpec, randomBatch, randomTheta } from "@gradcheck/models";
import type { MlpCheckInput } from "../check-input.js";

/**
 * A correct backprop as a user's framework in `precision` computes it: θ, X and Y stored in
 * that dtype, every operation rounded to it, sums in the natural order (the rounding study
 * takes them reversed, so the two round differently, as two implementations do).
 */
export function userCheckInput(specInput: unknown, precision: Precision, seed = 1, batchSize = 4): MlpCheckInput {
  const spec = parseModelSpec(specInput, "fixture");
  const random = createRandom(seed);
  const round = roundingTo(precision);
  const theta = randomTheta(spec, random).map(round);
  const drawn = randomBatch(spec, batchSize, random);
  const batch = { ...drawn, inputs: drawn.inputs.map(round), targets: drawn.targets.map(round) };
  const analytic = emulatedGradient(networkFromTheta(spec, theta), batch, round, "natural");
  return { spec, theta, analytic, batch, precision, step: 0 };
}

/** The θ index of the coordinate of tensor `tensor` whose |dθ| sits at `quantile` among its nonzero entries. */
export function coordinateAtQuantile(input: MlpCheckInput, offset: number, size: number, quantile: number): number {
  const nonzero = Array.from({ length: size }, (_, i) => offset + i).filter((index) => input.analytic[index] !== 0);
  nonzero.sort((a, b) => Math.abs(input.analytic[a]) - Math.abs(input.analytic[b]) || a - b);
  return nonzero[Math.min(nonzero.length - 1, Math.floor(quantile * nonzero.length))];
}
