import type { Regression, TensorReport } from "@gradcheck/contracts";

/**
 * The tensors whose relative difference rose by `factor` or more since the previous check. A
 * rise that stays below a tenth of the tensor's pass threshold is rounding, not a regression:
 * a correct backprop's figure moves by orders of magnitude down there.
 */
export function regressionsOf(previous: readonly TensorReport[], current: readonly TensorReport[], factor: number, overallPass: number): Regression[] {
  const before = new Map(previous.map((tensor) => [tensor.name, tensor.relativeDifference]));
  const found: Regression[] = [];
  for (const tensor of current) {
    const was = before.get(tensor.name);
    if (was === undefined || !Number.isFinite(was)) continue;
    const floor = (tensor.tolerance?.pass ?? overallPass) / 10;
    const now = tensor.relativeDifference;
    if (now < floor) continue;
    const rise = was > 0 ? now / was : Number.POSITIVE_INFINITY;
    if (rise >= factor) found.push({ tensor: tensor.name, previous: was, current: now, factor: Number.isFinite(rise) ? rise : Number.MAX_VALUE });
  }
  return found;
}
