import { open, type FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import {
  apiErrorSchema,
  checkpointInfoSchema,
  checkStateSchema,
  historySchema,
  isFinished,
  modelListingSchema,
  modelViewSchema,
  type CheckpointInfo,
  type CheckState,
  type CheckOptionsInput,
  type ApiRole,
  type HistoryEntryView,
  type HistoryQuery,
} from "@gradcheck/contracts";
import { InputError, NotAuthorisedError, ServiceError } from "./errors.js";
import { readServerSentEvents } from "./sse.js";

// A small client for the coordinator's HTTP API (/api/v1). Every answer is validated with the
// contracts' schemas, and every failure becomes one of these errors, by who can fix it: the
// user (a 4xx: exit 2), the key's owner (401 or 403: exit 4) or the server's operator (no
// coordinator at that address, a 5xx, a broken connection, an answer that does not follow
// the API: exit 3).

/** The coordinator refused the request (4xx): its message says what to fix. */
export class CoordinatorRejectedError extends InputError {
  override name = "CoordinatorRejectedError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The coordinator refused the key (401) or its role (403): its message says which. */
export class CoordinatorDeniedError extends NotAuthorisedError {
  override name = "CoordinatorDeniedError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Nothing answered at the coordinator's address (connection refused, unknown host, ...). */
export class CoordinatorUnreachableError extends ServiceError {
  override name = "CoordinatorUnreachableError";
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** The coordinator failed: a 5xx, a connection it closed, or no answer in time. Often passes. */
export class CoordinatorFailedError extends ServiceError {
  override name = "CoordinatorFailedError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The coordinator answered something the API does not allow; asking again will not help. */
export class CoordinatorProtocolError extends ServiceError {
  override name = "CoordinatorProtocolError";
}

/** POST /api/v1/checks's body, before the coordinator fills in the options' defaults. */
export interface SubmitCheckInput {
  readonly model: string;
  /** the checkpoint's SHA-256, as the upload answered it */
  readonly checkpoint: string;
  readonly options: CheckOptionsInput;
  readonly run?: string;
  readonly step?: number;
  /** the checkpoint's file name, for the report's provenance */
  readonly checkpointFile?: string;
  readonly specVersion?: number;
}

export interface CoordinatorClientOptions {
  /** base URL, as checked by coordinatorBaseUrl */
  readonly server: string;
  readonly key: string;
  /** how often the check is polled once its event stream broke */
  readonly pollIntervalMs?: number;
  /** how long polling rides out a coordinator that cannot be reached or fails (e.g. while it restarts) */
  readonly retryForMs?: number;
  /** limit for each request with a small answer; uploads and event streams have none */
  readonly requestTimeoutMs?: number;
  /**
   * an event stream silent this long is given up for polling: a connection a proxy dropped
   * without closing it looks just like a check that is still queued
   */
  readonly streamIdleMs?: number;
}

/** What safeParse of a zod schema returns, spelled out so this module needs no zod import. */
interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

/** Connection errors that mean the coordinator was reached, then hung up. */
const CLOSED_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);

/**
 * Checks a coordinator URL and returns it without a trailing slash, ready for "/api/v1/...".
 * `source` names where it came from (--server or GRADCHECK_SERVER) for the error message.
 */
export function coordinatorBaseUrl(raw: string, source: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError(`${source}: "${raw}" is not a URL; expected e.g. http://coordinator:8080`);
  }
  // "localhost:8080" parses as a URL with the scheme "localhost:", so the scheme is checked too.
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InputError(`${source}: "${raw}" is not an http:// or https:// URL; expected e.g. http://coordinator:8080`);
  }
  if (url.search || url.hash) throw new InputError(`${source}: "${raw}" must not have a query or a fragment`);
  return url.href.replace(/\/+$/, "");
}

/** Refuses --key without --server on a command that reads this machine's history unless told otherwise. */
export function assertServerForKey(options: { readonly server?: string; readonly key?: string }): void {
  if (options.key !== undefined && options.server === undefined) throw new InputError("--key is for a coordinator: pass --server URL too (without it, this machine's history is read)");
}

/** The client, from --server/--key or else GRADCHECK_SERVER/GRADCHECK_KEY; `role`: what the key needs, for the message when there is none. */
export function clientFor(options: { readonly server?: string; readonly key?: string }, config: { readonly server?: string; readonly key?: string }, role: ApiRole): CoordinatorClient {
  const server = options.server || config.server;
  if (!server) throw new InputError("no coordinator: pass --server URL or set GRADCHECK_SERVER");
  const key = options.key || config.key;
  if (!key) throw new InputError(`no API key: pass --key KEY or set GRADCHECK_KEY (an admin creates one with \`gradcheck keys create --role ${role}\`)`);
  return new CoordinatorClient({ server: coordinatorBaseUrl(server, options.server ? "--server" : "GRADCHECK_SERVER"), key });
}

export class CoordinatorClient {
  readonly server: string;
  private readonly key: string;
  private readonly pollIntervalMs: number;
  private readonly retryForMs: number;
  private readonly requestTimeoutMs: number;
  private readonly streamIdleMs: number;

  constructor(options: CoordinatorClientOptions) {
    // fetch would reject such a header with a TypeError that reads like a network failure.
    if (!/^[\x21-\x7e]+$/.test(options.key)) throw new InputError("the API key may only hold printable ASCII characters, without spaces");
    this.server = options.server;
    this.key = options.key;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.retryForMs = options.retryForMs ?? 30_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.streamIdleMs = options.streamIdleMs ?? 30_000;
  }

  /** Where a person (or a script) can read the check's state. */
  checkUrl(id: string): string {
    return `${this.server}/api/v1/checks/${encodeURIComponent(id)}`;
  }

  /** POST /api/v1/models: registers the spec, and answers its version under the model's name; `created` is false when the same spec was registered before. */
  async registerModel(spec: unknown): Promise<{ created: boolean; version: number }> {
    const path = "/api/v1/models";
    const response = await this.send("POST", path, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify(spec),
      signal: AbortSignal.timeout(this.requestTimeoutMs),
    });
    const model = this.parse(await this.readText(response, `POST ${path}`), modelViewSchema, `POST ${path}`);
    return { created: response.status === 201, version: model.version };
  }

  /**
   * POST /api/v1/models/:name/checkpoints: streams the file from disk, so a checkpoint of any
   * size uploads without being held in memory. `created` is false when the coordinator already
   * had these bytes.
   */
  async uploadCheckpoint(model: string, checkpointPath: string): Promise<{ info: CheckpointInfo; created: boolean }> {
    const path = `/api/v1/models/${encodeURIComponent(model)}/checkpoints`;
    let handle: FileHandle;
    let size: number;
    try {
      handle = await open(checkpointPath, "r");
    } catch (error) {
      throw new InputError(`${checkpointPath}: cannot open file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    try {
      size = (await handle.stat()).size;
    } catch (error) {
      await handle.close();
      throw new InputError(`${checkpointPath}: cannot stat file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    const file = handle.createReadStream(); // closes the handle when it ends or is destroyed
    let readError: NodeJS.ErrnoException | undefined;
    file.on("error", (error) => (readError = error));
    try {
      const response = await this.send(
        "POST",
        path,
        {
          // Content-Length, not chunked encoding: the coordinator can refuse a checkpoint that is
          // too large before a byte of it arrives.
          headers: { "content-type": "application/octet-stream", "content-length": String(size) },
          body: Readable.toWeb(file) as ReadableStream<Uint8Array>,
          duplex: "half",
        },
        (error) => {
          if (readError) return new InputError(`${checkpointPath}: cannot read (${readError.code ?? readError.message})`);
          if (errorCode(error) === "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH") return new InputError(`${checkpointPath}: the file changed while it was uploaded`);
          return undefined;
        },
      );
      const created = response.status === 201;
      return { info: this.parse(await this.readText(response, `POST ${path}`), checkpointInfoSchema, `POST ${path}`), created };
    } finally {
      file.destroy(); // after an early answer (e.g. 413) the rest of the file is never read
    }
  }

  /** POST /api/v1/checks: `created` is false when the same checkpoint and options were submitted before. */
  async submitCheck(body: SubmitCheckInput): Promise<{ state: CheckState; created: boolean }> {
    const path = "/api/v1/checks";
    const response = await this.send("POST", path, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.requestTimeoutMs),
    });
    return { state: this.parse(await this.readText(response, `POST ${path}`), checkStateSchema, `POST ${path}`), created: response.status === 202 };
  }

  /** The model's checkpoint with this SHA-256, or null when the coordinator does not have it. */
  async findCheckpoint(model: string, hash: string): Promise<CheckpointInfo | null> {
    const path = `/api/v1/models/${encodeURIComponent(model)}/checkpoints/${hash}`;
    try {
      const response = await this.send("GET", path, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(this.requestTimeoutMs) });
      return this.parse(await this.readText(response, `GET ${path}`), checkpointInfoSchema, `GET ${path}`);
    } catch (error) {
      if (error instanceof CoordinatorRejectedError && error.status === 404) return null;
      throw error;
    }
  }

  /** GET /api/v1/models: every registered model's name. */
  async modelNames(): Promise<string[]> {
    const path = "/api/v1/models";
    const response = await this.send("GET", path, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(this.requestTimeoutMs) });
    return this.parse(await this.readText(response, `GET ${path}`), modelListingSchema, `GET ${path}`).map((model) => model.name);
  }

  /** GET /api/v1/models/:name/history, filtered as the query (the endpoint's fields: run, verdict, mode, stepFrom, stepTo, since) says. */
  async history(model: string, query: { readonly [field in keyof HistoryQuery]?: string | number }): Promise<HistoryEntryView[]> {
    const search = new URLSearchParams(Object.entries(query).flatMap(([field, value]) => (value === undefined ? [] : [[field, String(value)] as [string, string]])));
    const path = `/api/v1/models/${encodeURIComponent(model)}/history${search.size ? `?${search}` : ""}`;
    const response = await this.send("GET", path, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(this.requestTimeoutMs) });
    return this.parse(await this.readText(response, `GET ${path}`), historySchema, `GET ${path}`);
  }

  /** GET /api/v1/checks/:id */
  async getCheck(id: string): Promise<CheckState> {
    const path = `/api/v1/checks/${encodeURIComponent(id)}`;
    const response = await this.send("GET", path, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(this.requestTimeoutMs) });
    return this.parse(await this.readText(response, `GET ${path}`), checkStateSchema, `GET ${path}`);
  }

  /**
   * The check's states until it is finished (done, failed or cancelled; that state comes last).
   * Follows the event stream; if the stream cannot be opened, breaks or ends early, polls
   * GET /checks/:id instead, riding out a coordinator that is briefly away.
   */
  async *followCheck(id: string): AsyncGenerator<CheckState> {
    try {
      for await (const state of this.streamCheck(id)) {
        yield state;
        if (isFinished(state.status)) return;
      }
    } catch (error) {
      // A malformed event is the server's bug, not a network hiccup: polling would not fix it.
      if (error instanceof CoordinatorProtocolError) throw error;
    }
    yield* this.pollCheck(id);
  }

  /** GET /api/v1/checks/:id/events: each `progress` and the final `end` event's CheckState. */
  private async *streamCheck(id: string): AsyncGenerator<CheckState> {
    const path = `/api/v1/checks/${encodeURIComponent(id)}/events`;
    const connection = new AbortController();
    let idle: NodeJS.Timeout | undefined;
    const watch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => connection.abort(), this.streamIdleMs);
    };
    async function* watched(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
      for await (const chunk of body) {
        watch(); // any bytes count, keep-alive comments included
        yield chunk;
      }
    }
    try {
      watch();
      const response = await this.send("GET", path, { headers: { accept: "text/event-stream" }, signal: connection.signal });
      if (!response.body) return;
      for await (const event of readServerSentEvents(watched(response.body))) {
        if (event.event !== "progress" && event.event !== "end") continue; // e.g. keep-alives
        yield this.parse(event.data, checkStateSchema, `GET ${path} (a "${event.event}" event)`);
        if (event.event === "end") return;
      }
    } finally {
      clearTimeout(idle);
      connection.abort(); // however the stream ended (stopped early, idle, an error), its connection is closed
    }
  }

  private async *pollCheck(id: string): AsyncGenerator<CheckState> {
    let failingSince: number | undefined;
    for (;;) {
      let state: CheckState;
      try {
        state = await this.getCheck(id);
        failingSince = undefined;
      } catch (error) {
        const passing = error instanceof CoordinatorUnreachableError || error instanceof CoordinatorFailedError;
        failingSince ??= Date.now();
        if (!passing || Date.now() - failingSince >= this.retryForMs) throw error;
        await sleep(this.pollIntervalMs);
        continue;
      }
      yield state;
      if (isFinished(state.status)) return;
      await sleep(this.pollIntervalMs);
    }
  }

  /**
   * One request with the key; a non-2xx answer becomes an error with the coordinator's message.
   * `explain` may claim a fetch failure first (e.g. the file being uploaded could not be read).
   */
  private async send(
    method: string,
    path: string,
    init: Omit<RequestInit, "headers"> & { headers: Record<string, string>; duplex?: "half" },
    explain?: (error: unknown) => Error | undefined,
  ): Promise<Response> {
    const what = `${method} ${path}`;
    let response: Response;
    try {
      response = await fetch(`${this.server}${path}`, { ...init, method, headers: { ...init.headers, authorization: `Bearer ${this.key}` } });
    } catch (error) {
      throw explain?.(error) ?? this.connectionError(error, what);
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => "");
    const body = apiErrorSchema.safeParse(parseJson(text));
    const message = body.success && body.data.message.trim() ? oneLine(body.data.message) : `${what}: ${response.statusText || "no message"}`;
    const full = `${message} (HTTP ${response.status})`;
    if (response.status >= 500) throw new CoordinatorFailedError(full, response.status);
    if (response.status === 401 || response.status === 403) throw new CoordinatorDeniedError(full, response.status);
    throw new CoordinatorRejectedError(full, response.status);
  }

  private async readText(response: Response, what: string): Promise<string> {
    try {
      return await response.text();
    } catch (error) {
      throw this.connectionError(error, what);
    }
  }

  private parse<T>(text: string, schema: Schema<T>, what: string): T {
    const value = parseJson(text);
    if (value === undefined) throw new CoordinatorProtocolError(`the coordinator at ${this.server} answered ${what} with something that is not JSON: ${brief(text)}`);
    const result = schema.safeParse(value);
    if (!result.success) {
      const issue = result.error.issues[0];
      const field = issue.path.length ? issue.path.map(String).join(".") : "(root)";
      throw new CoordinatorProtocolError(`the coordinator at ${this.server} sent a malformed answer to ${what}: ${field}: ${issue.message}`);
    }
    return result.data;
  }

  private connectionError(error: unknown, what: string): Error {
    if (error instanceof Error && error.name === "TimeoutError") {
      return new CoordinatorFailedError(`the coordinator at ${this.server} did not answer ${what} within ${Math.round(this.requestTimeoutMs / 1000)} s`);
    }
    const code = errorCode(error);
    if (CLOSED_CODES.has(code)) return new CoordinatorFailedError(`the coordinator at ${this.server} closed the connection during ${what} (${code})`);
    return new CoordinatorUnreachableError(`cannot reach the coordinator at ${this.server} (${code})`, code);
  }
}

/**
 * The code of a fetch failure. fetch rejects with TypeError("fetch failed") and puts the
 * socket's error in `cause`; connecting to a name with several addresses fails with an
 * AggregateError of them all.
 */
function errorCode(error: unknown): string {
  let innermost = error;
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === "string") return code;
    if (current instanceof AggregateError) {
      const inner = current.errors.map((e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code).find((c) => typeof c === "string");
      if (inner) return inner;
    }
    innermost = current;
  }
  // No code anywhere: the innermost message says it (fetch's "bad port", say).
  return innermost instanceof Error ? innermost.message : String(innermost);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

function brief(text: string): string {
  const line = oneLine(text);
  if (line === "") return "an empty body";
  return JSON.stringify(line.length > 80 ? `${line.slice(0, 77)}...` : line);
}
