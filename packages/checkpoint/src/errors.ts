/**
 * The one error type this package throws for bad files, bad tensors and I/O failures.
 * The message is a single line: `<file>: <tensor or field>: <what is wrong, and what was expected>`.
 */
export class CheckpointError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    // Tensor names and paths may contain newlines; keep the message on one line for logs.
    super(message.replace(/\r\n|[\r\n]/g, " "), options);
    this.name = "CheckpointError";
  }
}

/** A tensor holding NaN or ±Infinity: a diverged training run, as a rule. */
export class NonFiniteValueError extends CheckpointError {
  constructor(
    message: string,
    readonly tensor: string,
    readonly value: number,
    /** the first such value's multi-index, e.g. "[0,0]" */
    readonly index: string,
  ) {
    super(message);
    this.name = "NonFiniteValueError";
  }
}

/** Quote a user-supplied name the way JSON would, so odd characters stay visible and escaped. */
export function quote(name: string): string {
  return JSON.stringify(name);
}

/** Short description of a JSON value's kind, for "expected X, got Y" messages. */
export function describeKind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** Brief rendering of an arbitrary JSON value; long values are cut so messages stay readable. */
export function brief(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The message of an I/O error (e.g. "ENOENT: no such file or directory, open 'x'"). */
export function describeIoError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
