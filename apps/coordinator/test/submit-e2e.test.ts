import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { GRADCHECK_VERSION, reportSchema } from "@gradcheck/contracts";
import { DEFAULT_CHECK_OPTIONS, loadCheckInput, loadCheckInputOf, runLocalCheck } from "@gradcheck/engine";
import { parseCheckSpec } from "@gradcheck/models";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canonicalFindings } from "../src/test-support/api.js";
import { MNIST_SPEC, writeTestCheckpoint } from "../src/test-support/checkpoints.js";
import { LocalCluster } from "../src/testing/local-cluster.js";

// End to end: `gradcheck submit` (the built CLI, as a process) against a running local cluster.

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../cli/dist/bin.js", import.meta.url));
// PyTorch's own float64 fixtures (python/golden/make_golden.py)
const GOLDEN = fileURLToPath(new URL("../../../packages/engine/test/golden/", import.meta.url));

let cluster: LocalCluster;
let folder: string;
let key: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "gradcheck-submit-"));
  cluster = await LocalCluster.create();
  await cluster.startCoordinator();
  await cluster.startWorker({ GRADCHECK_WORKER_CONCURRENCY: "2" });
  key = await cluster.key("submitter");
  await writeFile(join(folder, "model.json"), JSON.stringify(MNIST_SPEC));
  await writeTestCheckpoint(join(folder, "checkpoint.safetensors"), MNIST_SPEC, { batchSize: 32, seed: 8, step: 42 });
}, 120_000);

afterAll(async () => {
  await cluster?.destroy();
  await rm(folder, { recursive: true, force: true });
});

function submit(...flags: string[]) {
  return run(process.execPath, [CLI, "submit", join(folder, "checkpoint.safetensors"), "--model", join(folder, "model.json"), "--server", cluster.url, ...flags], {
    env: { ...process.env, GRADCHECK_KEY: key },
  });
}

describe("gradcheck submit against a running cluster", () => {
  it("--wait --json prints the same report as a local check", async () => {
    const { stdout } = await submit("--wait", "--json");
    const local = await runLocalCheck(await loadCheckInput(join(folder, "checkpoint.safetensors"), MNIST_SPEC), { ...DEFAULT_CHECK_OPTIONS, threads: 1 });
    const remote = reportSchema.parse(JSON.parse(stdout));
    expect(canonicalFindings(remote)).toBe(canonicalFindings(local));
    // made by the coordinator, which knows the file only by the name the CLI sent
    expect(remote.provenance).toEqual({
      checkpoint: { file: "checkpoint.safetensors", sha256: createHash("sha256").update(await readFile(join(folder, "checkpoint.safetensors"))).digest("hex"), sizeBytes: (await stat(join(folder, "checkpoint.safetensors"))).size },
      run: "default",
      checkedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      gradcheck: GRADCHECK_VERSION,
      host: hostname(),
      backend: "cpu",
    });
  }, 120_000);

  it("--wait prints the terminal report; the check is in the model's history", async () => {
    const { stdout } = await submit("--wait", "--mode", "sample", "--samples", "500");
    expect(stdout).toMatch(/PASS/);
    expect(stdout).toMatch(/W1/);
    const history = await fetch(`${cluster.url}/api/v1/models/${MNIST_SPEC.name}/history`, { headers: { authorization: `Bearer ${key}` } });
    const entries = (await history.json()) as { checkId: string; step: number; mode: string }[];
    expect(entries.map((entry) => [entry.step, entry.mode])).toEqual([
      [42, "full"],
      [42, "sample"],
    ]);

    // the CLI reads the same history from the coordinator, and any stored report
    const cli = (...args: string[]) => run(process.execPath, [CLI, ...args, "--server", cluster.url], { env: { ...process.env, GRADCHECK_KEY: key } });
    const listed = await cli("history", MNIST_SPEC.name, "--mode", "sample", "--json");
    expect((JSON.parse(listed.stdout) as { checkId: string }[]).map((entry) => entry.checkId)).toEqual([entries[1].checkId]);
    const table = await cli("history");
    expect(table.stdout).toContain(`2 checks in the history of the coordinator at ${cluster.url}`);
    const shown = await cli("show", entries[0].checkId, "--json");
    const state = await fetch(`${cluster.url}/api/v1/checks/${entries[0].checkId}`, { headers: { authorization: `Bearer ${key}` } });
    expect(JSON.parse(shown.stdout)).toEqual(((await state.json()) as { report: unknown }).report);
    const missing = await cli("show", "00000000-0000-0000-0000-000000000000").catch((error: { code: number; stderr: string }) => error);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining("no check with id") });
  }, 120_000);

  it("a version 2 (PyTorch) model: the cluster's report equals a local check, under state_dict names", async () => {
    const checkpoint = join(GOLDEN, "lenet.safetensors");
    const model = join(GOLDEN, "lenet.json");
    const { stdout } = await run(process.execPath, [CLI, "submit", checkpoint, "--model", model, "--server", cluster.url, "--wait", "--json"], {
      env: { ...process.env, GRADCHECK_KEY: key },
    });
    const spec = parseCheckSpec(JSON.parse(await readFile(model, "utf8")));
    const local = await runLocalCheck(await loadCheckInputOf(checkpoint, spec), { ...DEFAULT_CHECK_OPTIONS, threads: 1 });
    const remote = JSON.parse(stdout) as { verdict: string; tensors: { name: string }[] };
    expect(remote.verdict).toBe("pass");
    expect(remote.tensors.map((tensor) => tensor.name)).toContain("conv1.weight");
    expect(canonicalFindings(remote)).toBe(canonicalFindings(local));
  }, 120_000);

  it("a viewer key cannot submit: exit 4 (not authorised) with the server's message", async () => {
    const viewer = await cluster.key("viewer");
    const failure = await run(process.execPath, [CLI, "submit", join(folder, "checkpoint.safetensors"), "--model", join(folder, "model.json"), "--server", cluster.url, "--key", viewer]).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure).toMatchObject({ code: 4 });
    expect((failure as { stderr: string }).stderr).toMatch(/role submitter or above.*\(HTTP 403\)/);
  });
});
