import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for the two coordinator endpoints a worker calls, on a free local port: the
 * checkpoint download, and the PUT that hands in a shard's results (kept here, in memory).
 * The coordinator's own tests run the real ones.
 */
export interface CheckpointServer {
  readonly url: string;
  /** content served per hash (it need not match the hash) */
  readonly files: Map<string, Uint8Array>;
  /** per hash, how many of the next requests answer 503 */
  readonly failures: Map<string, number>;
  /** results handed in, per `<checkId>/<shard index>` */
  readonly results: Map<string, { readonly start: number; readonly end: number; readonly body: Buffer }>;
  /** how many of the next result PUTs answer 503 */
  resultFailures: number;
  /** checks whose results are refused with 409, as for a finished or cancelled check */
  readonly finished: Set<string>;
  /** requests, `METHOD path`, in order */
  readonly requests: string[];
  close(): Promise<void>;
}

const CONTENT_PATH = /^\/api\/v1\/checkpoints\/([^/]+)\/content$/;
const RESULTS_PATH = /^\/api\/v1\/checks\/([^/]+)\/shards\/(\d+)\/results\?start=(\d+)&end=(\d+)$/;

export async function startCheckpointServer(key: string): Promise<CheckpointServer> {
  const answer = (response: ServerResponse, statusCode: number, error: string, message: string) => {
    response.writeHead(statusCode, { "content-type": "application/json" }).end(JSON.stringify({ statusCode, error, message }));
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = request.url ?? "";
    state.requests.push(`${request.method} ${path}`);
    if (request.headers.authorization !== `Bearer ${key}`) return answer(response, 401, "Unauthorized", "unknown API key");
    const results = RESULTS_PATH.exec(path);
    if (request.method === "PUT" && results) return receiveResults(request, response, results);
    const hash = CONTENT_PATH.exec(path)?.[1] ?? "";
    const failing = state.failures.get(hash) ?? 0;
    if (failing > 0) {
      state.failures.set(hash, failing - 1);
      return answer(response, 503, "Service Unavailable", "storage is busy");
    }
    const content = state.files.get(hash);
    if (!content) return answer(response, 404, "Not Found", `no checkpoint ${hash}`);
    response.writeHead(200, { "content-type": "application/octet-stream", "content-length": content.length }).end(content);
  });
  const receiveResults = (request: IncomingMessage, response: ServerResponse, [, checkId, index, start, end]: RegExpExecArray) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (state.resultFailures > 0) {
        state.resultFailures--;
        return answer(response, 503, "Service Unavailable", "the database is busy");
      }
      if (state.finished.has(checkId)) return answer(response, 409, "Conflict", `check ${checkId} has finished`);
      const id = `${checkId}/${index}`;
      const stored = !state.results.has(id);
      if (stored) state.results.set(id, { start: Number(start), end: Number(end), body: Buffer.concat(chunks) });
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ stored }));
    });
  };
  const state: Omit<CheckpointServer, "url" | "close"> = {
    files: new Map(),
    failures: new Map(),
    results: new Map(),
    resultFailures: 0,
    finished: new Set(),
    requests: [],
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
