import { CheckpointError } from "@gradcheck/checkpoint";
import { CheckpointMismatchError, ModelSpecError } from "@gradcheck/models";
import { NonFiniteCostError, NondeterministicCostError } from "./determinism.js";

/**
 * Whether an error is the check's input at fault (spec, checkpoint, or a cost that cannot be
 * differenced): the user must fix it, and no retry can.
 */
export function isCheckInputError(error: unknown): boolean {
  return (
    error instanceof ModelSpecError ||
    error instanceof CheckpointError ||
    error instanceof CheckpointMismatchError ||
    error instanceof NonFiniteCostError ||
    error instanceof NondeterministicCostError
  );
}
