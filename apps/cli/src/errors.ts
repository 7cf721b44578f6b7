import { CheckpointError } from "@gradcheck/checkpoint";
import { BackendUnavailableError, NondeterministicCostError, NonFiniteCostError } from "@gradcheck/engine";
import { CheckpointMismatchError, ModelSpecError } from "@gradcheck/models";

/** Bad input the user can fix: reported in one line, exit code 2. */
export class InputError extends Error {
  override name = "InputError";
}

/**
 * A failure on the other side (the coordinator answered 5xx, broke the connection, or sent an
 * answer that does not follow the API): reported in one line, without the internal-error hint
 * (there is no local stack worth showing), exit code 3.
 */
export class ServiceError extends Error {
  override name = "ServiceError";
}

export const EXIT = { ok: 0, fail: 1, badInput: 2, internal: 3 } as const;

export function isInputError(error: unknown): error is Error {
  return (
    error instanceof InputError ||
    error instanceof CheckpointError ||
    error instanceof CheckpointMismatchError ||
    error instanceof ModelSpecError ||
    error instanceof NondeterministicCostError ||
    error instanceof NonFiniteCostError ||
    error instanceof BackendUnavailableError
  );
}
