export class NondeterministicCostError extends Error {
  override name = "NondeterministicCostError";
}

/**
 * Central differences assume J(θ) is a function: the same θ must give the same cost, bit for
 * bit. Dropout masks drawn afresh, data augmentation or a changing batch break that, and the
 * check would then measure noise. `cached` is the cost the check will difference against;
 * two fresh evaluations must reproduce it exactly.
 */
export function assertDeterministicCost(cost: () => number, cached: number): void {
  const values = [cached, cost(), cost()];
  if (values.some((value) => !Object.is(value, cached))) {
    throw new NondeterministicCostError(
      `the cost is not deterministic: three evaluations of J(θ) gave ${values.join(", ")}. ` +
        "Turn off dropout and any other randomness in the cost (fixed batch, no augmentation) before checking gradients.",
    );
  }
}

export class NonFiniteCostError extends Error {
  override name = "NonFiniteCostError";
}

/** Differences of an infinite or undefined cost mean nothing: refuse before computing any. */
export function assertFiniteCost(cost: number): void {
  if (!Number.isFinite(cost)) {
    throw new NonFiniteCostError(
      `J(θ) is ${cost} at this checkpoint: the loss overflows (huge weights or inputs, or a log of 0), so no derivative can be checked`,
    );
  }
}
