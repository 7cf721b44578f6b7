// What the worker's requests to the coordinator (checkpoint downloads, shard results) share:
// errors that say whether a retry can help, and the coordinator's own words for a refusal.

/** Where checkpoints come from and where they are kept; also where shard results go. */
export interface CheckpointSource {
  /** the coordinator's base URL, without a trailing slash */
  readonly server: string;
  readonly key: string;
  readonly cacheDir: string;
}

/**
 * A request to the coordinator that failed. `permanent` errors (a refusal, or bytes that do
 * not match their hash) come back the same on a retry; the others may not.
 */
export class CoordinatorRequestError extends Error {
  override name = "CoordinatorRequestError";

  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/** Retrying cannot change a refusal (bad key, unknown check), except for timeouts and rate limits. */
export function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** `answered 404 Not Found: <the coordinator's message>` */
export async function answerOf(response: Response): Promise<string> {
  const reason = await serverMessage(response);
  return `answered ${response.status} ${response.statusText}${reason ? `: ${reason}` : ""}`;
}

/** The `message` of the coordinator's JSON error body, if it sent one. */
async function serverMessage(response: Response): Promise<string | undefined> {
  try {
    const body: unknown = JSON.parse(await response.text());
    if (typeof body === "object" && body !== null && "message" in body) {
      const { message } = body;
      return Array.isArray(message) ? message.join("; ") : String(message);
    }
  } catch {
    // not JSON: the status line says enough
  }
  return undefined;
}

/** fetch() reports network failures as "fetch failed" with the real reason in `cause`. */
export function causeOf(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}
