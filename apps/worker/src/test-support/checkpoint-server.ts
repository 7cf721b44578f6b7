import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A stand-in for the coordinator's checkpoint download endpoint, on a free local port. */
export interface CheckpointServer {
  readonly url: string;
  /** content served per hash (it need not match the hash) */
  readonly files: Map<string, Uint8Array>;
  /** per hash, how many of the next requests answer 503 */
  readonly failures: Map<string, number>;
  /** paths requested, in order */
  readonly requests: string[];
  close(): Promise<void>;
}

const CONTENT_PATH = /^\/api\/v1\/checkpoints\/([^/]+)\/content$/;

export async function startCheckpointServer(key: string): Promise<CheckpointServer> {
  const files = new Map<string, Uint8Array>();
  const failures = new Map<string, number>();
  const requests: string[] = [];
  const answer = (response: ServerResponse, statusCode: number, error: string, message: string) => {
    response.writeHead(statusCode, { "content-type": "application/json" }).end(JSON.stringify({ statusCode, error, message }));
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = request.url ?? "";
    requests.push(path);
    if (request.headers.authorization !== `Bearer ${key}`) return answer(response, 401, "Unauthorized", "unknown API key");
    const hash = CONTENT_PATH.exec(path)?.[1] ?? "";
    const failing = failures.get(hash) ?? 0;
    if (failing > 0) {
      failures.set(hash, failing - 1);
      return answer(response, 503, "Service Unavailable", "storage is busy");
    }
    const content = files.get(hash);
    if (!content) return answer(response, 404, "Not Found", `no checkpoint ${hash}`);
    response.writeHead(200, { "content-type": "application/octet-stream", "content-length": content.length }).end(content);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    files,
    failures,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
