import { CheckpointError } from "@gradcheck/checkpoint";
import { BackendUnavailableError, NondeterministicCostError, NonFiniteCostError } from "@gradcheck/engine";
import { CheckpointMismatchError, ModelSpecError } from "@gradcheck/models";

/** Bad input the user can fix: reported in one line, exit code 2. */
export class InputError extends Error {
  override name = "InputError";
}

/**
 * A failure on the other side (no coordinator at the address, a 5xx, a broken connection, an
 * answer that does not follow the API): reported in one line, without the internal-error hint
 * (there is no local stack worth showing), exit code 3, so that CI can tell "server down"
 * from "bad input".
 */
export class ServiceError extends Error {
  override name = "ServiceError";
}

/** A coordinator refused the API key: missing, unknown, revoked, or of too low a role. Exit code 4. */
export class NotAuthorisedError extends Error {
  override name = "NotAuthorisedError";
}

/** The exit codes, as `--help` and the README list them. */
export const EXIT = { ok: 0, fail: 1, badInput: 2, internal: 3, notAuthorised: 4 } as const;

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
