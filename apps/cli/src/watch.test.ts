import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { copyFile, mkdir, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { stripVTControlCharacters } from "node:util";
import { signatureOf } from "@gradcheck/audits";
import { alertPayloadSchema, type AlertPayload } from "@gradcheck/contracts";
import { createClient, type PrismaClient } from "@gradcheck/db";
import { writeCheckpointFile } from "@gradcheck/engine";
import { backprop, faultyGradients, networkFromTheta } from "@gradcheck/models";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batch, spec, SPEC, theta } from "./test-support/small-model.js";

// `gradcheck watch` as a training job's neighbour would run it: a real process over a folder
// that a simulated training loop writes into, a real webhook receiver, the embedded history,
// and a kill -9 in the middle.

const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const SECRET = "watch-test-secret-0123";

let directory: string;
let checkpoints: string;
let dataDir: string;
let modelPath: string;
const deliveries: { headers: IncomingHttpHeaders; body: string }[] = [];
const receiver = createServer((request, response) => {
  let body = "";
  request.on("data", (chunk) => (body += chunk));
  request.on("end", () => {
    deliveries.push({ headers: request.headers, body });
    response.statusCode = 204;
    response.end();
  });
});
let webhook = "";

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "gradcheck-watch-"));
  checkpoints = join(directory, "checkpoints");
  dataDir = join(directory, "history");
  await mkdir(checkpoints);
  modelPath = join(directory, "model.json");
  await writeFile(modelPath, JSON.stringify(SPEC));
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  webhook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/alerts`;
});

afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
  await rm(directory, { recursive: true, force: true });
});

/** The training loop's checkpoint at a step: θ moves a little each step; `bug` breaks one coordinate of dW1. */
async function writeStep(path: string, step: number, { bug = false } = {}): Promise<void> {
  const moved = theta.map((value, index) => value * (1 - step / 2000) + 1e-3 * Math.sin(index + step));
  const network = networkFromTheta(spec, moved);
  const gradients = bug ? faultyGradients({ kind: "wrong-coordinate", layer: 1, row: 2, column: 1 }, network, batch) : backprop(network, batch);
  await writeCheckpointFile(path, spec, moved, gradients, batch, { step });
}

function watch(...args: string[]): { process: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [bin, "watch", checkpoints, "--model", modelPath, "--every", "1s", "--webhook", webhook, ...args], {
    env: { ...process.env, GRADCHECK_DATA_DIR: dataDir, DATABASE_URL: "", GRADCHECK_WEBHOOK_SECRET: SECRET },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout!.on("data", (chunk) => (text += chunk));
  child.stderr!.on("data", (chunk) => (text += chunk));
  return { process: child, output: () => stripVTControlCharacters(text) };
}

async function until(condition: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe("gradcheck watch", () => {
  it("takes each checkpoint once, never half-written, records the diverged one and alerts on a fail and a regression, across a kill -9", async () => {
    // Phase 1: the first checkpoints, then the watch is killed without warning.
    await writeStep(join(checkpoints, "step-000000.safetensors"), 0);
    await writeStep(join(checkpoints, "step-000100.safetensors"), 100);
    const first = watch();
    await until(() => (first.output().match(/^pass /gm) ?? []).length >= 2, "the first two checks");
    first.process.kill("SIGKILL");
    await once(first.process, "exit");

    // Phase 2: one written slowly, a buggy one, a duplicate, a diverged one.
    const slow = join(directory, "slow.safetensors");
    await writeStep(slow, 300);
    const bytes = await readFile(slow);
    await writeStep(join(checkpoints, "step-000200.safetensors"), 200, { bug: true });
    await copyFile(join(checkpoints, "step-000100.safetensors"), join(checkpoints, "copy-of-100.safetensors"));
    const nan = theta.slice();
    nan[0] = Number.NaN; // W1[0,0]
    await writeCheckpointFile(join(checkpoints, "step-000400.safetensors"), spec, nan, backprop(networkFromTheta(spec, theta), batch), batch, { step: 400 });
    const file = await open(join(checkpoints, "step-000300.safetensors"), "w");
    // scans 2 s apart: the writer below never pauses that long
    const second = watch("--once", "--every", "2s");
    // a tenth of the file every 300 ms: never the same size at two scans a second apart
    for (let part = 0; part < 10; part++) {
      await file.write(bytes.subarray((part * bytes.length) / 10, ((part + 1) * bytes.length) / 10));
      await sleep(300);
    }
    await file.close();
    const [code] = await once(second.process, "exit");
    const output = second.output();
    expect(code, output).toBe(0);
    expect(output).toMatch(/^skip +copy-of-100\.safetensors: the same bytes as step-000100\.safetensors/m);
    expect(output).toMatch(/^diverged +step-000400\.safetensors: diverged at step 400: NaN in W1\[0,0\]/m);
    expect(output).toMatch(/^fail +step-000200\.safetensors/m);
    expect(output).toMatch(/^pass +step-000300\.safetensors/m);

    const prisma: PrismaClient = await createClient({ dataDir });
    try {
      const checks = await prisma.check.findMany({ orderBy: { step: "asc" } });
      // each checkpoint checked once, killed watch or not: 0 full (first), the rest sampled
      expect(checks.map((check) => [check.step, check.mode, check.verdict])).toEqual([
        [0, "full", "pass"],
        [100, "sample", "pass"],
        [200, "sample", "fail"],
        [300, "sample", "pass"],
      ]);
      const entries = await prisma.auditEntry.findMany({ orderBy: { file: "asc" } });
      expect(entries.map((entry) => [entry.file, entry.status, entry.verdict])).toEqual([
        ["step-000000.safetensors", "checked", "pass"],
        ["step-000100.safetensors", "checked", "pass"],
        ["step-000200.safetensors", "checked", "fail"],
        ["step-000300.safetensors", "checked", "pass"],
        ["step-000400.safetensors", "refused", null],
      ]);
      expect(entries.find((entry) => entry.status === "refused")?.reason).toBe("diverged at step 400: NaN in W1[0,0]");
      const alerts = await prisma.alert.findMany();
      expect(alerts.every((alert) => alert.status === "sent" && alert.attempts === 1)).toBe(true);
    } finally {
      await prisma.$disconnect();
    }

    // Every delivery signed with the secret over its timestamp and body.
    const payloads: AlertPayload[] = deliveries.map(({ headers, body }) => {
      expect(headers["x-gradcheck-signature"]).toBe(signatureOf(SECRET, String(headers["x-gradcheck-timestamp"]), body));
      return alertPayloadSchema.parse(JSON.parse(body));
    });
    const kinds = payloads.map((payload) => `${payload.kind}@${payload.step}`).sort();
    expect(kinds).toEqual(["diverged@400", "fail@200", "outlier@200", "regression@200"]);
    const regression = payloads.find((payload) => payload.kind === "regression")!;
    expect(regression.previous?.step).toBe(100);
    expect(regression.regressions.map((r) => r.tensor)).toContain("W1");
    expect(regression.regressions.every((r) => r.factor >= 10)).toBe(true);
    expect(payloads.find((payload) => payload.kind === "fail")?.check).toMatchObject({ verdict: "fail", mode: "sample" });
  }, 240_000);

  it("refuses a missing folder, a bad webhook, and another model's audit, with exit 2", async () => {
    const run = (...args: string[]) => {
      const child = spawn(process.execPath, [bin, "watch", ...args], { env: { ...process.env, GRADCHECK_DATA_DIR: dataDir, GRADCHECK_WEBHOOK_SECRET: "" }, stdio: ["ignore", "pipe", "pipe"] });
      let text = "";
      child.stderr.on("data", (chunk) => (text += chunk));
      return once(child, "exit").then(([code]) => ({ code, stderr: stripVTControlCharacters(text) }));
    };
    expect(await run(join(directory, "missing"), "--model", modelPath)).toEqual({ code: 2, stderr: expect.stringMatching(/missing: cannot read .*missing \(ENOENT\)/) });
    expect(await run(checkpoints, "--model", modelPath, "--webhook", webhook)).toEqual({ code: 2, stderr: expect.stringMatching(/--webhook and --webhook-secret go together/) });
    expect((await run(checkpoints, "--model", modelPath, "--webhook", "ftp://x", "--webhook-secret", "0123456789abcdef")).stderr).toMatch(/--webhook: an http:\/\/ or https:\/\/ URL/);
    expect((await run(checkpoints, "--model", modelPath, "--webhook", webhook, "--webhook-secret", "short")).stderr).toMatch(/--webhook-secret: at least 16 characters/);
    const other = join(directory, "other.json");
    await writeFile(other, JSON.stringify({ ...SPEC, name: "other-model" }));
    const empty = join(directory, "empty");
    await mkdir(empty);
    expect((await run(empty, "--model", modelPath, "--name", "shared", "--once")).code).toBe(0);
    expect(await run(empty, "--model", other, "--name", "shared", "--once")).toEqual({
      code: 2,
      stderr: expect.stringMatching(/the audit "shared" in the history is of another model; give this one another --name/),
    });
    expect((await run(checkpoints, "--model", modelPath, "--every", "10ms")).stderr).toMatch(/--every must be a duration of at least 1s/);
  });
});
