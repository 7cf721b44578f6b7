import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NonFiniteValueError } from "@gradcheck/checkpoint";
import { auditPolicySchema, reportSchema, type AlertPayload, type Report } from "@gradcheck/contracts";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertsForCheck, fileDecision, findCheckpointFiles, inWritingOrder, modeFor, parseDuration, refusalOf, regressionsOf, scheduleProblem, sendWebhook, signatureOf, stepFromFileName, WebhookError } from "./index.js";

const tensor = (name: string, relativeDifference: number, extra: object = {}) => ({
  name, shape: [2], relativeDifference, maxAbsError: 0, verdict: "pass", size: 2, checked: 2, coverage: 1, kinks: 0, worst: [],
  tolerance: { pass: 1e-7, warn: 1e-5, expectedRounding: 1e-12 }, ...extra,
});
const report = (tensors: object[], verdict = "pass", outliers = 0): Report =>
  reportSchema.parse({
    model: "m", verdict, relativeDifference: 1e-9, eps: 1e-5, stepRule: "auto", richardson: false, mode: "full", seed: null, precision: "F64", cost: 1,
    thresholds: { pass: 1e-7, warn: 1e-5 }, noise: { relative: 0, sampled: 0 }, costEvaluations: 4, step: 0,
    coordinates: { total: 4, checked: 4, kinks: 0, outliers }, tensors, localization: null, warnings: [], diagnosis: [],
  });

describe("policy", () => {
  it("checks the first checkpoint with `first`, every fullEvery-th in full, the rest with `then`", () => {
    const policy = auditPolicySchema.parse({ first: "full", then: "sample", fullEvery: 3 });
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => modeFor(policy, n))).toEqual(["full", "sample", "sample", "full", "sample", "sample", "full"]);
    expect(modeFor(auditPolicySchema.parse({ then: "directional" }), 10)).toBe("directional");
  });
});

describe("stability", () => {
  it("takes a file only when two scans in a row saw the same size and mtime, and only once", () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.nat(), fc.nat(), fc.boolean(), (s1, m1, s2, m2, taken) => {
        const decision = fileDecision({ sizeBytes: s1, mtimeMs: m1, taken }, { sizeBytes: s2, mtimeMs: m2 });
        if (s1 !== s2 || m1 !== m2) return decision === "wait";
        return decision === (taken ? "skip" : "take");
      }),
    );
    expect(fileDecision(undefined, { sizeBytes: 1, mtimeMs: 1 })).toBe("wait");
  });
});

describe("regressions", () => {
  it("flags a tensor up ×factor or more, not one that stays in the rounding", () => {
    const before = report([tensor("W1", 1e-11), tensor("b1", 1e-12), tensor("W2", 1e-9)]).tensors;
    const after = report([tensor("W1", 2e-7), tensor("b1", 5e-9), tensor("W2", 5e-9)]).tensors;
    // b1 rose ×5000 but to 5e-9, under a tenth of its pass threshold (1e-8): rounding
    expect(regressionsOf(before, after, 10, 1e-7)).toEqual([{ tensor: "W1", previous: 1e-11, current: 2e-7, factor: expect.closeTo(2e4, 6) }]);
    expect(regressionsOf(before, after, 1e5, 1e-7)).toEqual([]);
  });

  it("raises fail, outlier and regression alerts, only the kinds asked for", () => {
    const previous = { id: "p", step: 100, report: report([tensor("W1", 1e-11)]) };
    const failing = report([tensor("W1", 3e-3, { verdict: "fail", outliers: { count: 2, complete: true, worst: [] } })], "fail", 2);
    const drafts = alertsForCheck(failing, 200, previous, 10, ["fail", "outlier", "regression"]);
    expect(drafts.map((d) => d.kind)).toEqual(["fail", "outlier", "regression"]);
    expect(drafts[0].message).toMatch(/failed at step 200: relative difference 1\.00e-9 \(W1\)/);
    expect(drafts[2].message).toMatch(/since step 100, at step 200: W1 1\.00e-11 → 3\.00e-3/);
    expect(alertsForCheck(failing, 200, previous, 10, ["regression"]).map((d) => d.kind)).toEqual(["regression"]);
    expect(alertsForCheck(report([tensor("W1", 1e-11)]), 300, previous, 10, ["fail", "outlier", "regression"])).toEqual([]);
  });

  it("words a diverged checkpoint after its first non-finite value", () => {
    expect(refusalOf(new NonFiniteValueError("x", "W1", Number.NaN, "[0,0]"), 1200)).toEqual({ kind: "diverged", reason: "diverged at step 1200: NaN in W1[0,0]" });
    expect(refusalOf(new Error("tensor W1 has shape [3,2]"), null).kind).toBe("refused");
  });
});

describe("schedules and names", () => {
  it("parses durations and cron patterns", () => {
    expect(parseDuration("1s")).toBe(1000);
    expect(parseDuration("5m")).toBe(300_000);
    expect(parseDuration("5 minutes")).toBeNull();
    expect(scheduleProblem({ cron: "*/5 * * * *" })).toBeNull();
    expect(scheduleProblem({ cron: "every tuesday" })).toMatch(/is not a cron pattern/);
    expect(stepFromFileName("run/step-000300.safetensors")).toBe(300);
    expect(stepFromFileName("final.safetensors")).toBeNull();
  });
});

describe("directory sources", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gradcheck-scan-"));
    await mkdir(join(dir, "run-a"));
    for (const name of ["b.safetensors", "a.safetensors", ".hidden.safetensors", "c.safetensors.tmp", "notes.txt", "run-a/x.safetensors"]) await writeFile(join(dir, name), "x");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("lists a folder's checkpoints, leaving out hidden and temporary files", async () => {
    expect((await findCheckpointFiles(dir)).map((file) => file.name)).toEqual(["a.safetensors", "b.safetensors"]);
  });

  it("follows a glob into subfolders", async () => {
    expect((await findCheckpointFiles(join(dir, "**/*.safetensors"))).map((file) => file.name)).toEqual(["a.safetensors", "b.safetensors", "run-a/x.safetensors"]);
    expect((await findCheckpointFiles(join(dir, "run-*/*.safetensors"))).map((file) => file.name)).toEqual(["run-a/x.safetensors"]);
  });

  it("orders files as they were written", () => {
    const files = [{ name: "b", mtimeMs: 2 }, { name: "copy", mtimeMs: 3 }, { name: "a", mtimeMs: 2 }, { name: "z", mtimeMs: 1 }];
    expect(inWritingOrder(files).map((file) => file.name)).toEqual(["z", "a", "b", "copy"]);
  });

  it("says which folder it cannot read", async () => {
    await expect(findCheckpointFiles(join(dir, "missing"))).rejects.toThrow(/cannot read .*missing \(ENOENT\)/);
  });
});

describe("webhooks", () => {
  const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  let status = 204;
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body });
      response.statusCode = status;
      response.end();
    });
  });
  let url = "";
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const payload = { alert: "a1", kind: "fail", message: "m", audit: "x", model: "m", run: "default", step: 1, file: "f", checkpoint: "0".repeat(64), check: null, previous: null, regressions: [], reason: null, createdAt: "2026-01-01T00:00:00Z" } satisfies AlertPayload;

  it("signs the timestamp and body with HMAC-SHA256, so the receiver can verify them", async () => {
    status = 204;
    await sendWebhook(url, "a-secret-of-sixteen", payload, new Date(1_700_000_000_000));
    const { headers, body } = received.at(-1)!;
    expect(JSON.parse(body)).toEqual(payload);
    expect(headers["x-gradcheck-timestamp"]).toBe("1700000000");
    expect(headers["x-gradcheck-signature"]).toBe(signatureOf("a-secret-of-sixteen", "1700000000", body));
    expect(headers["x-gradcheck-signature"]).not.toBe(signatureOf("another-secret-16", "1700000000", body));
    expect(headers["x-gradcheck-delivery"]).toBe("a1");
  });

  it("fails on an answer other than 2xx, and on a receiver that is not there", async () => {
    status = 500;
    await expect(sendWebhook(url, "a-secret-of-sixteen", payload)).rejects.toThrow(new WebhookError(`the webhook at ${url} answered 500`));
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(sendWebhook(`http://127.0.0.1:${port}/none`, "a-secret-of-sixteen", payload)).rejects.toThrow(/could not be reached \(ECONNREFUSED\)/);
  });
});
