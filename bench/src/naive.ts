import { realizedSteps } from "@gradcheck/core";
import { forward, networkFromTheta, type Batch, type ModelSpec } from "@gradcheck/models";

/**
 * Naive central differences: the whole forward pass twice per coordinate. Timed on an even
 * sample of coordinates across θ, since all 2·P passes would take many minutes.
 */
export function timeNaiveCentralDifferences(spec: ModelSpec, theta: Float64Array, batch: Batch, sample: number): number {
  const probe = Float64Array.from(theta);
  const stride = Math.max(1, Math.floor(theta.length / sample));
  let counted = 0;
  const started = performance.now();
  for (let index = 0; index < theta.length && counted < sample; index += stride, counted++) {
    const steps = realizedSteps(theta[index], 1e-6);
    probe[index] = theta[index] + steps.plus;
    const plus = forward(networkFromTheta(spec, probe), batch).cost;
    probe[index] = theta[index] - steps.minus;
    const minus = forward(networkFromTheta(spec, probe), batch).cost;
    probe[index] = theta[index];
    if (!Number.isFinite((plus - minus) / (steps.plus + steps.minus))) throw new Error("naive difference is not finite");
  }
  return (performance.now() - started) / counted;
}
