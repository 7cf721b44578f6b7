import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { stripVTControlCharacters } from "node:util";
import { basename, join } from "node:path";
import { createRandom } from "@gradcheck/core";
import { checkStateSchema, reportSchema, type Report } from "@gradcheck/contracts";
import { DEFAULT_CHECK_OPTIONS, loadCheckInput, runLocalCheck } from "@gradcheck/engine";
import { backprop, faultyGradients, networkFromTheta, parseModelSpec, randomBatch, randomTheta } from "@gradcheck/models";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { batch, network, spec, SPEC, theta } from "../test-support/small-model.js";
import { writeCheckpointFile } from "@gradcheck/engine";
import type { CliConfig } from "../config.js";
import { main } from "../program.js";
import { renderReport } from "../render.js";
import { apiError, FakeCoordinator } from "../test-support/fake-coordinator.js";

// The progress bar draws only on a terminal; record what it is told instead.
const progressUpdates = vi.hoisted(() => [] as [number, number][]);
vi.mock("../progress.js", () => ({
  createProgress: () => ({ update: (done: number, total: number) => progressUpdates.push([done, total]), stop() {} }),
}));


let directory: string;
let modelPath: string;
let correctPath: string;
let buggyPath: string;
let correctHash: string;
let correctReport: Report;
let buggyReport: Report;
let fake: FakeCoordinator;

const sha256 = async (path: string) => createHash("sha256").update(await readFile(path)).digest("hex");

/** A made-up check id: the fake derives it from the checkpoint and the options. */
const CHECK_ID = /chk-[0-9a-f]{8}-[0-9a-f]{8}/;

function config(overrides: Partial<CliConfig> = {}): CliConfig {
  return { debug: false, dataDir: join(directory, "unused-history"), server: fake.url, key: "gck_submitter", ...overrides };
}

async function cliWith(cliConfig: CliConfig, ...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["node", "gradcheck", ...args], { out: (text) => out.push(text), err: (text) => err.push(text) }, cliConfig);
  // Colours are on under CI (picocolors): compare the text alone.
  return { code, stdout: stripVTControlCharacters(out.join("\n")), stderr: stripVTControlCharacters(err.join("\n")) };
}

const submit = (...args: string[]) => cliWith(config(), "submit", ...args);

/** A TCP port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "gradcheck-submit-test-"));
  modelPath = join(directory, "model.json");
  correctPath = join(directory, "correct.safetensors");
  buggyPath = join(directory, "buggy.safetensors");
  await writeFile(modelPath, JSON.stringify(SPEC));
  await writeCheckpointFile(correctPath, spec, theta, backprop(network, batch), batch, { step: 10 });
  const gradients = faultyGradients({ kind: "wrong-coordinate", layer: 1, row: 4, column: 2 }, network, batch);
  await writeCheckpointFile(buggyPath, spec, theta, gradients, batch, { step: 10 });
  // Real reports, as the cluster would compute them, round-tripped through JSON as they travel.
  const reportOf = async (path: string) =>
    reportSchema.parse(JSON.parse(JSON.stringify(await runLocalCheck(await loadCheckInput(path, spec), { ...DEFAULT_CHECK_OPTIONS, threads: 1 }))));
  correctReport = await reportOf(correctPath);
  buggyReport = await reportOf(buggyPath);
  correctHash = await sha256(correctPath);
  fake = await new FakeCoordinator({
    reports: new Map([
      [correctHash, correctReport],
      [await sha256(buggyPath), buggyReport],
    ]),
  }).start();
});

afterAll(async () => {
  await fake?.stop();
  await rm(directory, { recursive: true, force: true });
});

beforeEach(() => {
  fake.reset();
  progressUpdates.length = 0;
});

describe("gradcheck submit --wait", () => {
  it("follows the event stream, sent in odd pieces with CRLF line ends, and prints the report as a local check would", async () => {
    fake.stream = { lineEnding: "\r\n", pieces: [1, 2, 3, 5, 8, 13, 21, 34, 55, 89] };
    const result = await submit(correctPath, "--model", modelPath, "--wait");
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith(stripVTControlCharacters(renderReport(correctReport)))).toBe(true);
    expect(result.stdout).toContain("PASS");
    expect(result.stdout).toMatch(new RegExp(`Checked on the cluster \\(backend cpu\\): GET ${fake.url}/api/v1/checks/${CHECK_ID.source}`));
    expect(result.stderr).toMatch(new RegExp(`^Check ${CHECK_ID.source} submitted \\(queued\\); waiting for its report`));
    const id = CHECK_ID.exec(result.stdout)![0];
    expect(fake.lines()).toEqual([
      "POST /api/v1/models",
      `GET /api/v1/models/cli-test/checkpoints/${correctHash}`,
      "POST /api/v1/models/cli-test/checkpoints",
      "POST /api/v1/checks",
      `GET /api/v1/checks/${id}/events`,
    ]);
    const total = correctReport.coordinates.total;
    expect(progressUpdates).toEqual([
      [0, total],
      [Math.floor(total / 3), total],
      [Math.floor((2 * total) / 3), total],
      [total, total],
    ]);
  });

  it("exits 1 with the failing report when the verdict is fail", async () => {
    const result = await submit(buggyPath, "--model", modelPath, "--wait");
    expect(result.code).toBe(1);
    expect(result.stdout.startsWith(stripVTControlCharacters(renderReport(buggyReport)))).toBe(true);
    expect(result.stdout).toContain("FAIL");
    expect(result.stdout).toContain("W1[4,2]");
  });

  it("prints only the report with --json, the same as gradcheck check --json", async () => {
    const result = await submit(correctPath, "--model", modelPath, "--wait", "--json");
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const report = reportSchema.parse(JSON.parse(result.stdout));
    expect(report).toEqual(correctReport);
    const local = await cliWith(config(), "check", correctPath, "--model", modelPath, "--json", "--no-save");
    // the same findings; the local check's provenance is its own (this machine, now)
    expect({ ...JSON.parse(result.stdout), provenance: null }).toEqual({ ...JSON.parse(local.stdout), provenance: null });
  });

  it("polls GET /checks/:id when the event stream breaks", async () => {
    fake.stream = { ...fake.stream, breakAfter: 1 };
    const result = await submit(correctPath, "--model", modelPath, "--wait");
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith(stripVTControlCharacters(renderReport(correctReport)))).toBe(true);
    const id = CHECK_ID.exec(result.stdout)![0];
    expect(fake.lines().filter((line) => line === `GET /api/v1/checks/${id}`).length).toBeGreaterThanOrEqual(1);
  });

  it("polls when the coordinator has no event stream", async () => {
    fake.canned.set("events", apiError(404, "Not Found", "Route GET:/api/v1/checks/x/events not found"));
    const result = await submit(correctPath, "--model", modelPath, "--wait", "--json");
    expect(result.code).toBe(0);
    expect(reportSchema.parse(JSON.parse(result.stdout))).toEqual(correctReport);
  });

  it("exits 3 with the error when the check failed on the cluster", async () => {
    fake.outcome = { status: "failed", error: "shard 2 failed 3 times:\nworker out of memory" };
    const result = await submit(correctPath, "--model", modelPath, "--wait");
    expect(result.code).toBe(3);
    expect(result.stdout).toBe("");
    expect(result.stderr.split("\n").at(-1)).toMatch(
      new RegExp(`^gradcheck: error: check ${CHECK_ID.source} failed on the cluster: shard 2 failed 3 times: worker out of memory$`),
    );
  });

  it("exits 2 when the check was cancelled", async () => {
    fake.outcome = { status: "cancelled", error: "cancelled by an admin" };
    const result = await submit(correctPath, "--model", modelPath, "--wait", "--json");
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(new RegExp(`^gradcheck: error: check ${CHECK_ID.source} was cancelled \\(cancelled by an admin\\)$`));
  });

  it("exits 3 on a malformed event", async () => {
    fake.canned.set("events", { status: 200, contentType: "text/event-stream", body: 'event: progress\ndata: {"id": 1}\n\n' });
    const result = await submit(correctPath, "--model", modelPath, "--wait", "--json");
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^gradcheck: error: the coordinator at http:\/\/127\.0\.0\.1:\d+ sent a malformed answer to GET \/api\/v1\/checks\/\S+\/events \(a "progress" event\): id: /);
  });
});

describe("gradcheck submit", () => {
  it("prints the check and how to follow it, and exits 0", async () => {
    const result = await submit(correctPath, "--model", modelPath);
    expect(result.code).toBe(0);
    const id = CHECK_ID.exec(result.stdout)![0];
    expect(result.stdout).toMatch(new RegExp(`^Check ${id} queued \\(model cli-test spec v1, run default, step 10, checkpoint ${correctHash.slice(0, 12)}\\)`));
    expect(result.stdout).toContain(`Follow it: GET ${fake.url}/api/v1/checks/${id}`);
    expect(result.stdout).toContain(`Its report, once done: gradcheck show ${id} --server ${fake.url} (exit 1 on a fail, for scripts)`);
    expect(fake.lines()).toEqual([
      "POST /api/v1/models",
      `GET /api/v1/models/cli-test/checkpoints/${correctHash}`,
      "POST /api/v1/models/cli-test/checkpoints",
      "POST /api/v1/checks",
    ]);

    // The coordinator has the checkpoint now: it is not sent again.
    fake.requests.length = 0;
    const again = await submit(correctPath, "--model", modelPath);
    expect(again.stdout).toMatch(new RegExp(`^Check ${id} was submitted before: queued`));
    expect(fake.lines()).toEqual(["POST /api/v1/models", `GET /api/v1/models/cli-test/checkpoints/${correctHash}`, "POST /api/v1/checks"]);
  });

  it("prints only the check's state with --json", async () => {
    const result = await submit(correctPath, "--model", modelPath, "--json");
    expect(result.code).toBe(0);
    const state = checkStateSchema.parse(JSON.parse(result.stdout));
    expect([state.status, state.model, state.checkpoint]).toEqual(["queued", "cli-test", correctHash]);
  });

  it("registers the model's spec, streams the file's exact bytes with its Content-Length, and sends the check options", async () => {
    const result = await submit(correctPath, "--model", modelPath, "--mode", "sample", "--samples", "5", "--seed", "7", "--eps", "1e-3", "--richardson", "--top", "2");
    expect(result.code).toBe(0);
    expect(fake.models.get("cli-test")).toBe(JSON.stringify(spec));
    const { size } = await stat(correctPath);
    expect(fake.uploads).toEqual([{ model: "cli-test", sha256: correctHash, bytes: size }]);
    const upload = fake.requests.find((request) => request.method === "POST" && request.path.endsWith("/checkpoints"))!.headers;
    expect([upload["content-type"], upload["content-length"], upload["transfer-encoding"]]).toEqual(["application/octet-stream", String(size), undefined]);
    expect(fake.requests.map((request) => request.headers.authorization)).toEqual(Array(4).fill("Bearer gck_submitter"));
    expect(fake.submitted).toEqual([
      { model: "cli-test", checkpoint: correctHash, options: { mode: "sample", eps: 1e-3, richardson: true, samples: 5, directions: 8, seed: 7, top: 2 }, run: "default", checkpointFile: basename(correctPath), specVersion: 1 },
    ]);
  });

  it("submits a changed spec under the same name as the model's next version", async () => {
    fake.models.set("cli-test", "{}");
    const result = await submit(correctPath, "--model", modelPath);
    expect(result.stdout).toMatch(/\(model cli-test spec v2, run default/);
    expect(fake.submitted).toEqual([expect.objectContaining({ specVersion: 2 })]);
  });

  it("sends --run and --step with the check", async () => {
    const result = await submit(correctPath, "--model", modelPath, "--run", "sweep-3", "--step", "1200");
    expect(result.stdout).toMatch(/\(model cli-test spec v1, run sweep-3, step 1200, checkpoint/);
    expect(fake.submitted).toEqual([expect.objectContaining({ run: "sweep-3", step: 1200 })]);
  });

  it("streams a large checkpoint", async () => {
    const wide = parseModelSpec({ name: "wide", inputSize: 1000, layers: [{ units: 1000, activation: "tanh" }, { units: 2, activation: "softmax" }], loss: "cross-entropy" });
    const wideRandom = createRandom(1);
    const wideTheta = randomTheta(wide, wideRandom);
    const wideBatch = randomBatch(wide, 2, wideRandom);
    const path = join(directory, "wide.safetensors");
    const widePath = join(directory, "wide.json");
    await writeFile(widePath, JSON.stringify(wide));
    await writeCheckpointFile(path, wide, wideTheta, backprop(networkFromTheta(wide, wideTheta), wideBatch), wideBatch);
    const result = await submit(path, "--model", widePath);
    expect(result.code).toBe(0);
    const { size } = await stat(path);
    expect(size).toBeGreaterThan(16_000_000);
    expect(fake.uploads).toEqual([{ model: "wide", sha256: await sha256(path), bytes: size }]);
  }, 60_000);

  it("takes --server and --key over GRADCHECK_SERVER and GRADCHECK_KEY", async () => {
    const result = await cliWith(config({ server: "http://127.0.0.1:9/unused", key: "gck_wrong" }), "submit", correctPath, "-m", modelPath, "--server", `${fake.url}/`, "--key", "gck_submitter");
    expect(result.code).toBe(0);
    expect(fake.requests[0].headers.authorization).toBe("Bearer gck_submitter");
  });
});

describe("gradcheck submit: the coordinator says no", () => {
  const cases: [string, () => void, string, RegExp, number][] = [
    ["a bad key", () => undefined, "gck_wrong", /^gradcheck: error: missing or invalid API key \(HTTP 401\)$/, 4],
    ["a viewer key", () => undefined, "gck_viewer", /^gradcheck: error: this API key has the role viewer; submitting needs submitter or admin \(HTTP 403\)$/, 4],
    ["a checkpoint it cannot use", () => fake.canned.set("upload", apiError(422, "Unprocessable Entity", 'tensor "db3" has Infinity at [1]')), "gck_submitter", /^gradcheck: error: tensor "db3" has Infinity at \[1\] \(HTTP 422\)$/, 2],
    ["a checkpoint too large", () => fake.canned.set("upload", apiError(413, "Payload Too Large", "the checkpoint is larger than the 1 GiB limit")), "gck_submitter", /larger than the 1 GiB limit \(HTTP 413\)$/, 2],
    ["an unavailable queue", () => fake.canned.set("submit", apiError(503, "Service Unavailable", "queue unavailable: Redis does not answer")), "gck_submitter", /^gradcheck: error: queue unavailable: Redis does not answer \(HTTP 503\)$/, 3],
    ["a proxy's error page", () => fake.canned.set("register", { status: 502, contentType: "text/html", body: "<html>Bad Gateway</html>" }), "gck_submitter", /^gradcheck: error: POST \/api\/v1\/models: Bad Gateway \(HTTP 502\)$/, 3],
    ["a malformed answer", () => fake.canned.set("submit", { status: 202, body: '{"id": 5}' }), "gck_submitter", /^gradcheck: error: the coordinator at http:\/\/127\.0\.0\.1:\d+ sent a malformed answer to POST \/api\/v1\/checks: id: /, 3],
    ["an answer that is not JSON", () => fake.canned.set("upload", { status: 201, body: "ok" }), "gck_submitter", /answered POST \/api\/v1\/models\/cli-test\/checkpoints with something that is not JSON: "ok"$/, 3],
  ];

  it.each(cases)("%s", async (_, arrange, key, message, code) => {
    arrange();
    const result = await cliWith(config({ key }), "submit", correctPath, "--model", modelPath, "--wait");
    expect(result.code).toBe(code);
    expect(result.stdout).toBe("");
    expect(result.stderr.split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at |internal error/);
  });

  it("stops before the upload when the model cannot be registered", async () => {
    fake.canned.set("register", apiError(400, "Bad Request", "invalid model spec"));
    expect((await submit(correctPath, "--model", modelPath)).code).toBe(2);
    expect(fake.lines()).toEqual(["POST /api/v1/models"]);
  });
});

describe("gradcheck submit: caught before anything is sent", () => {
  it("cannot reach a coordinator that is not there: exit 3, a service down, not bad input", async () => {
    const server = `http://127.0.0.1:${await closedPort()}`;
    const result = await cliWith(config({ server }), "submit", correctPath, "--model", modelPath);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`gradcheck: error: cannot reach the coordinator at ${server} (ECONNREFUSED)`);
  });

  it("cannot reach a host that does not exist", async () => {
    const result = await cliWith(config({ server: "http://no-such-host.invalid:8080" }), "submit", correctPath, "--model", modelPath);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^gradcheck: error: cannot reach the coordinator at http:\/\/no-such-host\.invalid:8080 \((ENOTFOUND|EAI_AGAIN)\)$/);
  });

  it.each([
    ["no key", { key: undefined }, [], /^gradcheck: error: no API key: pass --key KEY or set GRADCHECK_KEY/],
    ["no server", { server: undefined }, [], /^gradcheck: error: no coordinator: pass --server URL or set GRADCHECK_SERVER$/],
    ["a server without a scheme", { server: "localhost:8080" }, [], /^gradcheck: error: GRADCHECK_SERVER: "localhost:8080" is not an http:\/\/ or https:\/\/ URL/],
    ["a --server that is not a URL", {}, ["--server", "not a url"], /^gradcheck: error: --server: "not a url" is not a URL/],
    ["a key that cannot go in a header", { key: "gck_\nx" }, [], /^gradcheck: error: the API key may only hold printable ASCII/],
    ["a missing checkpoint", {}, ["CHECKPOINT", "missing.safetensors"], /^gradcheck: error: missing\.safetensors: cannot open file \(ENOENT/],
    ["a missing model file", {}, ["--model", "missing.json"], /^gradcheck: error: missing\.json: file not found$/],
    ["a checkpoint of another model", {}, ["--model", "OTHER_MODEL"], /"W1" has shape \[6,4\] but model "cli-test" expects \[6,5\]/],
    ["an option out of range", {}, ["--samples", "0"], /--samples must be a whole number from 1/],
  ] as [string, Partial<CliConfig>, string[], RegExp][])("%s: exit 2", async (_, overrides, args, message) => {
    const otherModel = join(directory, "other-model.json");
    await writeFile(otherModel, JSON.stringify({ ...SPEC, inputSize: 5 }));
    let checkpoint = correctPath;
    const rest: string[] = [];
    for (let i = 0; i < args.length; i += 2) {
      if (args[i] === "CHECKPOINT") checkpoint = args[i + 1];
      else rest.push(args[i], args[i + 1] === "OTHER_MODEL" ? otherModel : args[i + 1]);
    }
    const model = rest.includes("--model") ? [] : ["--model", modelPath];
    const result = await cliWith(config(overrides), "submit", checkpoint, ...model, ...rest, "--wait");
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.split("\n")[0]).toMatch(message);
    expect(fake.requests).toEqual([]);
  });
});
