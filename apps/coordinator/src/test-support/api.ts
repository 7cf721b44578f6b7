import { readFile } from "node:fs/promises";
import { isFinished, type CheckState } from "@gradcheck/contracts";

/** A small client of the coordinator's API for tests: answers as status and parsed body. */
export class TestApi {
  constructor(
    readonly url: string,
    readonly key?: string,
  ) {}

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies, asserted field by field in the tests
  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const init: RequestInit = { method, headers: { ...(this.key ? { authorization: `Bearer ${this.key}` } : {}), ...headers } };
    if (body instanceof Uint8Array) {
      init.body = body;
      (init.headers as Record<string, string>)["content-type"] ??= "application/octet-stream";
    } else if (typeof body === "string") {
      init.body = body;
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] ??= "application/json";
    }
    const response = await fetch(`${this.url}/api/v1${path}`, init);
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed };
  }

  upload(model: string, path: string) {
    return readFile(path).then((bytes) => this.request("POST", `/models/${model}/checkpoints`, new Uint8Array(bytes)));
  }

  /** Polls a check until it finishes. */
  async waitFor(id: string, timeoutMs = 240_000, until: (state: CheckState) => boolean = (state) => isFinished(state.status)): Promise<CheckState> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { status, body } = await this.request("GET", `/checks/${id}`);
      if (status === 200 && until(body as CheckState)) return body as CheckState;
      if (Date.now() > deadline) throw new Error(`check ${id} did not get there in ${timeoutMs} ms: ${JSON.stringify(body).slice(0, 500)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * A report's findings as canonical JSON: everything but its provenance, which says where and
 * when it was made and so differs between a cluster's report and a local one.
 */
export function canonicalFindings(report: unknown): string {
  const { provenance: _, ...findings } = report as { provenance?: unknown };
  return canonicalJson(findings);
}

/** JSON with sorted keys: equal strings mean equal values, every number bit for bit. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_, entry: unknown) =>
    entry && typeof entry === "object" && !Array.isArray(entry)
      ? Object.fromEntries(Object.entries(entry as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : entry,
  );
}
