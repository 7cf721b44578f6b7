import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { checkOptionsSchema, submitCheckSchema, type CheckState, type Report } from "@gradcheck/contracts";

// Just enough of the coordinator's HTTP API for the CLI's tests: keys with roles, model
// registration, checkpoint upload (hashed as it arrives), checks that run through a scripted
// timeline, an event stream sent in odd-sized pieces, and failures injected per route.

export type Route = "register" | "find-checkpoint" | "upload" | "submit" | "get" | "events";

/** An answer that replaces the route's normal one. */
export interface CannedAnswer {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
}

export const apiError = (status: number, error: string, message: string): CannedAnswer => ({
  status,
  body: JSON.stringify({ statusCode: status, error, message }),
});

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
}

export interface Upload {
  readonly model: string;
  readonly sha256: string;
  readonly bytes: number;
}

interface FakeCheck {
  readonly timeline: CheckState[];
  /** how far GET /checks/:id has got through the timeline */
  polls: number;
}

export interface FakeCoordinatorOptions {
  /** the report a check of these checkpoint bytes (by SHA-256) ends with */
  readonly reports: ReadonlyMap<string, Report>;
  /** API keys and their roles */
  readonly keys?: Readonly<Record<string, "viewer" | "submitter" | "admin">>;
}

export class FakeCoordinator {
  url = "";
  readonly requests: LoggedRequest[] = [];
  readonly uploads: Upload[] = [];
  readonly submitted: unknown[] = [];
  /** registered models: name → latest spec as JSON */
  readonly models = new Map<string, string>();
  /** every spec registered under each name, version 1 first */
  readonly versions = new Map<string, string[]>();
  /** answers that replace a route's normal one, until deleted */
  readonly canned = new Map<Route, CannedAnswer>();
  /** how a check ends */
  outcome: { status: "done" } | { status: "failed" | "cancelled"; error: string } = { status: "done" };
  /**
   * the event stream: line ending, sizes of the pieces it is written in, and whether it breaks
   * after some events, by closing the connection or by falling silent while holding it open
   */
  stream: { lineEnding: string; pieces: readonly number[]; breakAfter?: number; breakBy?: "closing" | "stalling" } = {
    lineEnding: "\n",
    pieces: [1, 7, 2, 31, 3, 64, 5, 127],
  };
  /** event streams the server holds open now */
  openStreams = 0;

  private readonly server: Server;
  private readonly checks = new Map<string, FakeCheck>();
  private readonly checkpoints = new Map<string, { model: string; sizeBytes: number }>();
  private readonly keys: Readonly<Record<string, string>>;

  constructor(private readonly options: FakeCoordinatorOptions) {
    this.keys = options.keys ?? { gck_submitter: "submitter", gck_viewer: "viewer" };
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) this.answer(response, apiError(500, "Internal Server Error", String(error)));
        else response.destroy();
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The requests' "METHOD /path" lines, in order. */
  lines(): string[] {
    return this.requests.map((request) => `${request.method} ${request.path}`);
  }

  reset(): void {
    this.requests.length = 0;
    this.uploads.length = 0;
    this.submitted.length = 0;
    this.models.clear();
    this.versions.clear();
    this.canned.clear();
    this.checks.clear();
    this.checkpoints.clear();
    this.outcome = { status: "done" };
    this.stream = { lineEnding: "\n", pieces: [1, 7, 2, 31, 3, 64, 5, 127] };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? "/", "http://fake").pathname;
    this.requests.push({ method: request.method ?? "", path, headers: request.headers });
    const route = routeOf(request.method ?? "", path);
    const hash = createHash("sha256");
    let bytes = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of request as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      if (route?.name !== "upload") chunks.push(chunk);
    }
    if (!route) return this.answer(response, apiError(404, "Not Found", `Route ${request.method}:${path} not found`));

    const role = this.keys[/^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1] ?? ""];
    if (!role) return this.answer(response, apiError(401, "Unauthorized", "missing or invalid API key"));
    if (request.method === "POST" && role === "viewer") {
      return this.answer(response, apiError(403, "Forbidden", "this API key has the role viewer; submitting needs submitter or admin"));
    }
    const canned = this.canned.get(route.name);
    if (canned) return this.answer(response, canned);

    const body = Buffer.concat(chunks).toString("utf8");
    switch (route.name) {
      case "register": {
        // as the coordinator does: the same spec finds its version, a changed one is the next
        const spec = JSON.parse(body) as { name: string };
        const known = this.models.get(spec.name);
        const versions = this.versions.get(spec.name) ?? (known === undefined ? [] : [known]);
        const found = versions.indexOf(JSON.stringify(spec));
        if (found < 0) versions.push(JSON.stringify(spec));
        this.versions.set(spec.name, versions);
        this.models.set(spec.name, versions.at(-1)!);
        const version = found < 0 ? versions.length : found + 1;
        return this.answer(response, { status: found < 0 ? 201 : 200, body: JSON.stringify({ name: spec.name, spec, version, createdAt: new Date(0).toISOString() }) });
      }
      case "find-checkpoint": {
        const [model, sha256] = route.id.split("/");
        const known = this.checkpoints.get(sha256);
        if (!known || known.model !== model) return this.answer(response, apiError(404, "Not Found", `model "${model}" has no checkpoint ${sha256}`));
        const info = { model, hash: sha256, step: 10, dtype: "F64", sizeBytes: known.sizeBytes, createdAt: new Date(0).toISOString() };
        return this.answer(response, { status: 200, body: JSON.stringify(info) });
      }
      case "upload": {
        const sha256 = hash.digest("hex");
        if (!this.models.has(route.id)) return this.answer(response, apiError(404, "Not Found", `model "${route.id}" is not registered`));
        this.uploads.push({ model: route.id, sha256, bytes });
        const known = this.checkpoints.has(sha256);
        this.checkpoints.set(sha256, { model: route.id, sizeBytes: bytes });
        const info = { model: route.id, hash: sha256, step: 10, dtype: "F64", sizeBytes: bytes, createdAt: new Date(0).toISOString() };
        return this.answer(response, { status: known ? 200 : 201, body: JSON.stringify(info) });
      }
      case "submit": {
        const submitted = JSON.parse(body) as unknown;
        this.submitted.push(submitted);
        const parsed = submitCheckSchema.safeParse(submitted);
        if (!parsed.success) return this.answer(response, apiError(400, "Bad Request", parsed.error.issues[0].message));
        const id = `chk-${parsed.data.checkpoint.slice(0, 8)}-${createHash("sha256").update(JSON.stringify(parsed.data.options)).digest("hex").slice(0, 8)}`;
        const existing = this.checks.get(id);
        if (existing) return this.answer(response, { status: 200, body: JSON.stringify(existing.timeline[existing.polls > 0 ? existing.polls - 1 : 0]) });
        const check = { timeline: this.timeline(id, parsed.data, parsed.data.options), polls: 1 };
        this.checks.set(id, check);
        return this.answer(response, { status: 202, body: JSON.stringify(check.timeline[0]) });
      }
      case "get": {
        const check = this.checks.get(route.id);
        if (!check) return this.answer(response, apiError(404, "Not Found", `no check ${route.id}`));
        const state = check.timeline[Math.min(check.polls, check.timeline.length - 1)];
        check.polls++;
        return this.answer(response, { status: 200, body: JSON.stringify(state) });
      }
      case "events":
        return this.events(route.id, response);
    }
  }

  /** Sends the rest of the timeline as `progress` events and the last state as `end`, in odd-sized pieces. */
  private async events(id: string, response: ServerResponse): Promise<void> {
    const check = this.checks.get(id);
    if (!check) return this.answer(response, apiError(404, "Not Found", `no check ${id}`));
    const { lineEnding: eol, pieces, breakAfter } = this.stream;
    const states = check.timeline.slice(1);
    let text = `: connected${eol}${eol}`;
    states.forEach((state, index) => {
      if (breakAfter !== undefined && index >= breakAfter) return;
      const last = index === states.length - 1;
      text += `event: ${last ? "end" : "progress"}${eol}data: ${JSON.stringify(state)}${eol}${eol}`;
      if (index === 0) text += `event: ping${eol}data: {}${eol}${eol}`; // an event the CLI does not know
    });
    check.polls = breakAfter === undefined ? check.timeline.length : 1 + Math.min(breakAfter, states.length);
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    response.flushHeaders();
    this.openStreams++;
    response.on("close", () => this.openStreams--);
    const bytes = Buffer.from(text, "utf8"); // pieces are cut in bytes, so a UTF-8 character may be split too
    for (let offset = 0, piece = 0; offset < bytes.length && !response.destroyed; piece++) {
      const size = pieces[piece % pieces.length];
      response.write(bytes.subarray(offset, offset + size));
      offset += size;
      await sleep(0);
    }
    if (breakAfter === undefined) response.end();
    else if (this.stream.breakBy !== "stalling") response.destroy();
  }

  private timeline(id: string, { model, checkpoint, run, step, specVersion }: { model: string; checkpoint: string; run: string; step?: number; specVersion?: number }, options: unknown): CheckState[] {
    const report = this.options.reports.get(checkpoint);
    const total = report?.coordinates.total ?? 30;
    const base: CheckState = {
      id,
      model,
      checkpoint,
      specVersion: specVersion ?? 1,
      run,
      step: step ?? 10,
      status: "queued",
      options: checkOptionsSchema.parse(options),
      backend: "cpu",
      createdAt: new Date(0).toISOString(),
      startedAt: null,
      finishedAt: null,
      progress: { shardsDone: 0, shardsTotal: 0, itemsDone: 0, itemsTotal: 0, itemsPerSecond: null, etaSeconds: null },
      report: null,
      error: null,
    };
    const running = (done: number): CheckState => ({
      ...base,
      status: "running",
      startedAt: new Date(1000).toISOString(),
      progress: { shardsDone: Math.floor((3 * done) / total), shardsTotal: 3, itemsDone: done, itemsTotal: total, itemsPerSecond: done ? 100 : null, etaSeconds: done ? (total - done) / 100 : null },
    });
    const finished: CheckState = {
      ...running(total),
      status: this.outcome.status,
      finishedAt: new Date(2000).toISOString(),
      report: this.outcome.status === "done" ? (report ?? null) : null,
      error: this.outcome.status === "done" ? null : this.outcome.error,
    };
    return [base, running(0), running(Math.floor(total / 3)), running(Math.floor((2 * total) / 3)), finished];
  }

  private answer(response: ServerResponse, answer: CannedAnswer): void {
    response.writeHead(answer.status, { "content-type": answer.contentType ?? "application/json; charset=utf-8" });
    response.end(answer.body);
  }
}

function routeOf(method: string, path: string): { name: Route; id: string } | undefined {
  let match: RegExpExecArray | null;
  if (method === "POST" && path === "/api/v1/models") return { name: "register", id: "" };
  if (method === "POST" && (match = /^\/api\/v1\/models\/([^/]+)\/checkpoints$/.exec(path))) return { name: "upload", id: decodeURIComponent(match[1]) };
  if (method === "GET" && (match = /^\/api\/v1\/models\/([^/]+)\/checkpoints\/([0-9a-f]+)$/.exec(path))) {
    return { name: "find-checkpoint", id: `${decodeURIComponent(match[1])}/${match[2]}` };
  }
  if (method === "POST" && path === "/api/v1/checks") return { name: "submit", id: "" };
  if (method === "GET" && (match = /^\/api\/v1\/checks\/([^/]+)\/events$/.exec(path))) return { name: "events", id: decodeURIComponent(match[1]) };
  if (method === "GET" && (match = /^\/api\/v1\/checks\/([^/]+)$/.exec(path))) return { name: "get", id: decodeURIComponent(match[1]) };
  return undefined;
}
