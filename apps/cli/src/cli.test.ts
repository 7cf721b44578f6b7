import { stripVTControlCharacters } from "node:util";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { encodeSafetensors, type TensorToWrite } from "@gradcheck/checkpoint";
import { GRADCHECK_VERSION, reportSchema } from "@gradcheck/contracts";
import {
  backprop,
  checkpointTensors,
  faultyGradients,
  networkFromTheta,
} from "@gradcheck/models";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batch, network, spec, SPEC, theta } from "./test-support/small-model.js";
import { writeCheckpointFile } from "@gradcheck/engine";
import type { CliConfig } from "./config.js";
import { ApiKeyRepository, createClient } from "@gradcheck/db";
import { createTestDatabase, type TestDatabase } from "@gradcheck/db/testing";
import { main } from "./program.js";
import { renderReport } from "./render.js";


let directory: string;
let modelPath: string;
let correctPath: string;

let database: TestDatabase;

/** Runs the CLI in-process; checks are saved to this file's own PostgreSQL database unless `config` says otherwise. */
async function cli(...args: string[]) {
  return cliWith({ debug: false, databaseUrl: database.url, dataDir: join(directory, "unused") }, ...args);
}

async function cliWith(config: CliConfig, ...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["node", "gradcheck", ...args], { out: (text) => out.push(text), err: (text) => err.push(text) }, config);
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

/** The valid checkpoint's tensors, as float64, for building broken variants. */
function validTensors(): TensorToWrite[] {
  return checkpointTensors(spec, theta, backprop(network, batch), batch).map((tensor) => ({ ...tensor, dtype: "F64" as const }));
}

/** Raw safetensors bytes from a header object and a data section, for headers the writer would refuse. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  bytes.set(data, 8 + json.length);
  return bytes;
}

beforeAll(async () => {
  database = await createTestDatabase();
  directory = await mkdtemp(join(tmpdir(), "gradcheck-cli-test-"));
  modelPath = join(directory, "model.json");
  correctPath = join(directory, "correct.safetensors");
  await writeFile(modelPath, JSON.stringify(SPEC));
  await writeCheckpointFile(correctPath, spec, theta, backprop(network, batch), batch, { step: 10 });
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
  await database.drop();
});

describe("gradcheck check", () => {
  it("passes a correct checkpoint with exit 0 and a human report", async () => {
    const result = await cli("check", correctPath, "--model", modelPath);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("PASS");
    expect(result.stdout).toContain("step 10");
    for (const name of ["W1", "b1", "W2", "b2", "W3", "b3"]) expect(result.stdout).toContain(name);
  });

  it("prints only the JSON report with --json", async () => {
    const result = await cli("check", correctPath, "--model", modelPath, "--json", "--top", "2");
    expect(result.code).toBe(0);
    const report = reportSchema.parse(JSON.parse(result.stdout));
    expect(report.step).toBe(10);
    expect(report.tensors[0].worst).toHaveLength(2);
    expect(report.provenance).toEqual({
      checkpoint: { file: basename(correctPath), sha256: createHash("sha256").update(await readFile(correctPath)).digest("hex"), sizeBytes: (await stat(correctPath)).size },
      run: "default",
      checkedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      gradcheck: GRADCHECK_VERSION,
      host: hostname(),
      backend: "cpu",
    });
  });

  it("says in the terminal report what was checked, in which run, when, by which gradcheck and where", async () => {
    const result = await cli("check", correctPath, "--model", modelPath, "--run", "night-7");
    expect(stripVTControlCharacters(result.stdout)).toMatch(
      new RegExp(`^${basename(correctPath)} \\(sha256 [0-9a-f]{12}\\) · run night-7 · checked \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC by gradcheck ${GRADCHECK_VERSION} on \\S+ \\(cpu\\)$`, "m"),
    );
  });

  it("fails a buggy checkpoint with exit 1 and names the worst coordinate", async () => {
    const path = join(directory, "wrong-coordinate.safetensors");
    const gradients = faultyGradients({ kind: "wrong-coordinate", layer: 1, row: 4, column: 2 }, network, batch);
    await writeCheckpointFile(path, spec, theta, gradients, batch, { step: 10 });
    const result = await cli("check", path, "--model", modelPath);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("FAIL");
    expect(result.stdout).toContain("W1[4,2]");
    // listed as the one outlier of W1, with the basis of the thresholds above the table
    expect(stripVTControlCharacters(result.stdout)).toMatch(/Outliers[^\n]*\n[^]*│ W1\[4,2\] /);
    expect(result.stdout).toContain("Thresholds follow the numerical noise");
  });

  it("runs sample mode with a seed and reports coverage", async () => {
    const result = await cli("check", correctPath, "--model", modelPath, "--mode", "sample", "--samples", "5", "--seed", "7", "--json");
    expect(result.code).toBe(0);
    const report = reportSchema.parse(JSON.parse(result.stdout));
    expect([report.mode, report.seed]).toEqual(["sample", 7]);
    expect(report.tensors.map((tensor) => tensor.checked + tensor.kinks)).toEqual(report.tensors.map((tensor) => Math.min(5, tensor.size)));
  });

  it("localizes a wrong coordinate in directional mode and names it on the terminal", async () => {
    const path = join(directory, "wrong-coordinate-2.safetensors");
    const gradients = faultyGradients({ kind: "wrong-coordinate", layer: 2, row: 1, column: 4 }, network, batch);
    await writeCheckpointFile(path, spec, theta, gradients, batch, { step: 10 });
    const result = await cli("check", path, "--model", modelPath, "--mode", "directional", "--directions", "4");
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("Localization");
    expect(result.stdout).toContain("W2[1,4]");
  });

  it("writes a self-contained HTML report with --html", async () => {
    const path = join(directory, "report.html");
    const result = await cli("check", correctPath, "--model", modelPath, "--html", path);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`HTML report written to ${path}`);
    const html = await readFile(path, "utf8");
    expect(html).toContain("cli-test");
    expect(html).toContain('id="heatmap-W1"');
    expect(html).not.toMatch(/<script src|<link /);
  });

  it("screens on gpu.js with --backend gpujs, confirms in float64, and gives the cpu backend's verdict", async () => {
    const path = join(directory, "gpujs-wrong-coordinate.safetensors");
    const gradients = faultyGradients({ kind: "wrong-coordinate", layer: 1, row: 4, column: 2 }, network, batch);
    await writeCheckpointFile(path, spec, theta, gradients, batch, { step: 10 });
    const gpu = await cli("check", path, "--model", modelPath, "--backend", "gpujs", "--gpujs-mode", "cpu", "--json", "--no-save");
    const cpu = await cli("check", path, "--model", modelPath, "--json", "--no-save");
    expect([gpu.code, cpu.code]).toEqual([1, 1]);
    const [screened, reference] = [gpu, cpu].map((result) => reportSchema.parse(JSON.parse(result.stdout)));
    expect(screened.compute.backends).toEqual([{ name: "gpujs", mode: "cpu", precision: "float32", items: reference.coordinates.total }]);
    expect(screened.compute.screen!.flagged).toBeGreaterThan(0);
    expect(reference.compute).toEqual({ backends: [{ name: "cpu", mode: null, precision: "float64", items: reference.coordinates.total }], screen: null });
    expect(screened.diagnosis.map((finding) => finding.message)).toEqual(reference.diagnosis.map((finding) => finding.message));
    const human = await cli("check", path, "--model", modelPath, "--backend", "gpujs", "--gpujs-mode", "cpu", "--no-save");
    expect(stripVTControlCharacters(human.stdout)).toMatch(/float32 screen on gpujs cpu: [\d,]+ of [\d,]+ recomputed in float64/);
  });

  it("refuses backend flags that cannot take effect, with exit 2", async () => {
    for (const [args, message] of [
      [["--backend", "gpujs", "--mode", "directional"], "directional mode runs on the cpu backend only"],
      [["--gpujs-mode", "webasm"], "--gpujs-mode webasm needs --backend gpujs (or auto)"],
      [["--backend", "tpu"], "argument 'tpu' is invalid. Allowed choices are cpu, gpujs, auto."],
    ]) {
      const result = await cli("check", correctPath, "--model", modelPath, "--no-save", ...args);
      expect([result.code, result.stdout]).toEqual([2, ""]);
      expect(result.stderr).toContain(message);
    }
  });

  it("takes a fixed step and Richardson extrapolation", async () => {
    const result = await cli("check", correctPath, "--model", modelPath, "--eps", "1e-3", "--richardson", "--json");
    const report = reportSchema.parse(JSON.parse(result.stdout));
    expect([report.stepRule, report.eps, report.richardson]).toEqual(["fixed", 1e-3, true]);
  });

  describe("float32 checkpoints", () => {
    // θ rounded to float32 and dθ computed with float32 rounding, as a float32 framework would.
    const theta32 = theta.map(Math.fround);
    const network32 = networkFromTheta(spec, theta32);
    const gradients32 = backprop(network32, batch, { round: Math.fround });

    it("pass when the gradient is right, with a low-precision warning", async () => {
      const path = join(directory, "f32.safetensors");
      await writeCheckpointFile(path, spec, theta32, gradients32, batch, { dtype: "F32", step: 0 });
      const result = await cli("check", path, "--model", modelPath, "--json");
      const report = reportSchema.parse(JSON.parse(result.stdout));
      expect(report.precision).toBe("F32");
      expect(report.verdict).toBe("pass");
      expect(report.warnings.map((warning) => warning.code)).toContain("low-precision");
      expect(report.diagnosis).toEqual([]);
    });

    it("fail on a 2% error in one tensor, and only there", async () => {
      const path = join(directory, "f32-bug.safetensors");
      const scaled = { ...gradients32, weights: gradients32.weights.map((dW, index) => (index === 1 ? dW.map((v) => v * 1.02) : dW)) };
      await writeCheckpointFile(path, spec, theta32, scaled, batch, { dtype: "F32", step: 0 });
      const result = await cli("check", path, "--model", modelPath, "--json");
      expect(result.code).toBe(1);
      const report = reportSchema.parse(JSON.parse(result.stdout));
      expect(report.tensors.filter((tensor) => tensor.verdict !== "pass").map((tensor) => tensor.name)).toEqual(["W2"]);
      expect(report.diagnosis.map((finding) => [finding.code, finding.tensors])).toEqual([["scale", ["W2"]]]);
      expect((report.diagnosis[0].evidence.factors as number[])[0]).toBeCloseTo(1.02, 4);
    });
  });
});

describe("bad input: exit 2, one line naming the problem, nothing on stdout", () => {
  const valid = () => validTensors();
  const cases: [string, () => Promise<Uint8Array | string>, RegExp][] = [
    ["a truncated file", async () => encodeSafetensors(valid()).slice(0, -40), /truncated/],
    ["a file that is not safetensors", async () => JSON.stringify(SPEC), /safetensors/],
    ["an oversized header length", async () => {
      const bytes = new Uint8Array(64);
      new DataView(bytes.buffer).setBigUint64(0, 2n ** 40n, true);
      return bytes;
    }, /header length/],
    ["a header that is not JSON", async () => {
      const text = new TextEncoder().encode("{not json}");
      const bytes = new Uint8Array(8 + text.length);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true);
      bytes.set(text, 8);
      return bytes;
    }, /JSON/],
    ["offsets outside the file", async () => rawFile({ W1: { dtype: "F64", shape: [2], data_offsets: [0, 16] } }, new Uint8Array(8)), /W1/],
    ["overlapping tensors", async () =>
      rawFile({ W1: { dtype: "F64", shape: [2], data_offsets: [0, 16] }, b1: { dtype: "F64", shape: [2], data_offsets: [8, 24] } }, new Uint8Array(24)), /overlap/],
    ["a size that does not match dtype × shape", async () => rawFile({ W1: { dtype: "F32", shape: [3], data_offsets: [0, 16] } }, new Uint8Array(16)), /W1/],
    ["a missing tensor", async () => encodeSafetensors(valid().filter((tensor) => tensor.name !== "dW2")), /"dW2" is missing/],
    ["a wrong shape", async () => encodeSafetensors(valid().map((tensor) => (tensor.name === "W1" ? { ...tensor, shape: [4, 6] } : tensor))), /"W1" has shape \[4,6\]/],
    ["a different m in X and Y", async () =>
      encodeSafetensors(valid().map((tensor) => (tensor.name === "Y" ? { ...tensor, shape: [7, 3], data: Array.from(tensor.data).slice(0, 21) } : tensor))), /"Y" has 7 rows but X has 8/],
    ["NaN in θ", async () => encodeSafetensors(valid().map((tensor) => (tensor.name === "W2" ? { ...tensor, data: Float64Array.from(tensor.data, (v, i) => (i === 7 ? NaN : v)) } : tensor))), /"W2" has NaN at \[1,1\]/],
    ["Inf in dθ", async () => encodeSafetensors(valid().map((tensor) => (tensor.name === "db3" ? { ...tensor, data: Float64Array.from(tensor.data, (v, i) => (i === 1 ? Infinity : v)) } : tensor))), /"db3" has Infinity at \[1\]/],
    ["a step that is not a number", async () => encodeSafetensors(valid(), { step: "ten" }), /step/],
  ];

  it.each(cases)("%s", async (_, build, message) => {
    const path = join(directory, "bad.safetensors");
    const contents = await build();
    await writeFile(path, contents);
    const result = await cli("check", path, "--model", modelPath);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(path);
    expect(result.stderr).toMatch(message);
  });

  it("a checkpoint whose cost overflows", async () => {
    const tiny = { name: "overflow", inputSize: 1, layers: [{ units: 1, activation: "linear" }], loss: "mse" };
    const tinyModel = join(directory, "overflow.json");
    const path = join(directory, "overflow.safetensors");
    await writeFile(tinyModel, JSON.stringify(tiny));
    const big = (name: string, shape: number[], value: number) => ({ name, shape, dtype: "F64" as const, data: new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(value) });
    await writeFile(path, encodeSafetensors([big("W1", [1, 1], 1e160), big("b1", [1], 0), big("dW1", [1, 1], 1), big("db1", [1], 1), big("X", [1, 1], 1e160), big("Y", [1, 1], 0)]));
    const result = await cli("check", path, "--model", tinyModel);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/J\(θ\) is Infinity/);
  });

  it("accepts a model file that starts with a byte-order mark", async () => {
    const path = join(directory, "bom-model.json");
    await writeFile(path, `\uFEFF${JSON.stringify(SPEC)}`);
    expect((await cli("check", correctPath, "--model", path)).code).toBe(0);
  });

  it.each([
    ["not JSON", "{", /not valid JSON/],
    ["an unknown activation", JSON.stringify({ ...SPEC, layers: [{ units: 6, activation: "gelu" }, ...SPEC.layers.slice(1)] }), /layers\[0\]\.activation/],
    ["softmax with mse", JSON.stringify({ ...SPEC, loss: "mse" }), /layers\[2\]\.activation.*mse/],
    ["an unknown field", JSON.stringify({ ...SPEC, dropout: 0.5 }), /dropout/],
  ])("a model spec that is %s", async (_, contents, message) => {
    const path = join(directory, "bad-model.json");
    await writeFile(path, contents);
    const result = await cli("check", correctPath, "--model", path);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(path);
    expect(result.stderr).toMatch(message);
  });

  it("a model that does not fit the checkpoint", async () => {
    const path = join(directory, "other-model.json");
    await writeFile(path, JSON.stringify({ ...SPEC, inputSize: 5 }));
    const result = await cli("check", correctPath, "--model", path);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/"W1" has shape \[6,4\] but model "cli-test" expects \[6,5\]/);
  });

  it.each([
    [["check", "x.safetensors"], /--model/],
    [["check", "x.safetensors", "-m", "m.json", "--eps", "0"], /--eps/],
    [["check", "x.safetensors", "-m", "m.json", "--threads", "two"], /--threads/],
    [["check", "x.safetensors", "-m", "m.json", "--top", "-1"], /--top/],
    [["check", "x.safetensors", "-m", "m.json", "--mode", "quick"], /--mode/],
    [["check", "x.safetensors", "-m", "m.json", "--samples", "0"], /--samples/],
    [["check", "x.safetensors", "-m", "m.json", "--seed", "1.5"], /--seed/],
    [["frobnicate"], /unknown command/],
    [["check", "CORRECT", "-m", "MODEL", "--html", "/nonexistent-dir/report.html"], /report.html: cannot write the HTML report \(ENOENT\)/],
    [["check", "missing.safetensors", "-m", "missing.json"], /missing.json: file not found/],
  ])("usage %j", async (args, message) => {
    const result = await cli(...args.map((arg) => (arg === "CORRECT" ? correctPath : arg === "MODEL" ? modelPath : arg)));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});

describe("history", () => {
  it("records every check and lists a model's checks by training step", async () => {
    const own = await createTestDatabase();
    try {
      const config = { debug: false, databaseUrl: own.url, dataDir: join(directory, "unused") };
      const late = join(directory, "late.safetensors");
      await writeCheckpointFile(late, spec, theta, faultyGradients({ kind: "doubled-dw", layer: 3 }, network, batch), batch, { step: 500 });
      const early = join(directory, "early.safetensors");
      await writeCheckpointFile(early, spec, theta, backprop(network, batch), batch, { step: 0 });
      expect((await cliWith(config, "check", late, "--model", modelPath)).code).toBe(1);
      const saved = await cliWith(config, "check", early, "--model", modelPath);
      expect(saved.stdout).toContain("Saved to the PostgreSQL history");
      expect((await cliWith(config, "check", early, "--model", modelPath, "--no-save")).code).toBe(0);

      const listed = await cliWith(config, "history", "cli-test", "--json");
      const entries = JSON.parse(listed.stdout) as { step: number; verdict: string; tensors: { name: string; verdict: string }[] }[];
      expect(entries.map((entry) => [entry.step, entry.verdict])).toEqual([
        [0, "pass"],
        [500, "fail"],
      ]);
      expect(entries[1].tensors.filter((tensor) => tensor.verdict === "fail").map((tensor) => tensor.name)).toEqual(["W3"]);
      const table = await cliWith(config, "history");
      expect(table.stdout).toContain("W3");
      expect((await cliWith(config, "history", "no-such-model")).stdout).toContain('No checks of model "no-such-model"');
    } finally {
      await own.drop();
    }
  }, 120_000);

  it("puts a check in the run and at the step given, and lists one run, verdict or mode alone, saying which", async () => {
    const config = { debug: false, dataDir: join(directory, "runs-history") };
    expect((await cliWith(config, "check", correctPath, "--model", modelPath, "--run", "lr-1e-3", "--step", "300")).stderr).toContain(
      "warning: --step 300 replaces the step 10 in the checkpoint's metadata",
    );
    const saved = await cliWith(config, "check", correctPath, "--model", modelPath, "--run", "lr-3e-4", "--json");
    expect(JSON.parse(saved.stdout)).toMatchObject({ step: 10 });
    expect((await cliWith(config, "check", correctPath, "--model", modelPath, "--run", "lr-3e-4", "--mode", "sample")).stdout).toContain("gradcheck history cli-test --run lr-3e-4");
    const entries = JSON.parse((await cliWith(config, "history", "--json")).stdout) as { run: string; step: number; mode: string }[];
    expect(entries.map((entry) => [entry.run, entry.step, entry.mode])).toEqual([
      ["lr-1e-3", 300, "full"],
      ["lr-3e-4", 10, "full"],
      ["lr-3e-4", 10, "sample"],
    ]);
    const one = await cliWith(config, "history", "cli-test", "--run", "lr-3e-4", "--mode", "sample");
    expect(one.stdout).toContain(`1 check of model "cli-test", run "lr-3e-4", mode sample in the history in ${config.dataDir}`);
    expect(one.stdout).toMatch(/cli-test .*lr-3e-4 .*10 .*sample/);
    expect((await cliWith(config, "history", "--verdict", "fail")).stdout).toBe(`No checks of verdict fail in the history in ${config.dataDir}.`);
    const late = JSON.parse((await cliWith(config, "history", "--step-from", "100", "--json")).stdout) as { step: number }[];
    expect(late.map((entry) => entry.step)).toEqual([300]);
    expect((await cliWith(config, "history", "--since", "2999-01-01")).stdout).toBe(`No checks of finished since 2999-01-01 00:00:00 UTC in the history in ${config.dataDir}.`);
    expect((await cliWith(config, "history", "--since", "yesterday")).stderr).toContain('--since must be a date or time in ISO 8601 (2026-12-01, 2026-12-01T08:00Z), got "yesterday"');
    const bad = await cliWith(config, "check", correctPath, "--model", modelPath, "--run", "no spaces");
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining(`--run must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit, got "no spaces"`)]);
    expect((await cliWith(config, "check", correctPath, "--model", modelPath, "--step", "-1")).code).toBe(2);
    expect((await cliWith(config, "history", "--verdict", "maybe")).code).toBe(2);
  }, 120_000);

  it("shows a recorded report by its check's id or the prefix the history shows, exiting as the check did", async () => {
    const config = { debug: false, dataDir: join(directory, "show-history") };
    const failingPath = join(directory, "show-failing.safetensors");
    await writeCheckpointFile(failingPath, spec, theta, faultyGradients({ kind: "doubled-dw", layer: 3 }, network, batch), batch, { step: 20 });
    const checked = await cliWith(config, "check", failingPath, "--model", modelPath, "--json");
    expect(checked.code).toBe(1);
    const [entry] = JSON.parse((await cliWith(config, "history", "--json")).stdout) as { checkId: string }[];
    const table = await cliWith(config, "history");
    expect(table.stdout).toContain(`1 check in the history in ${config.dataDir}; gradcheck show CHECK prints one`);
    expect(table.stdout).toContain(entry.checkId.slice(0, 8));

    const json = await cliWith(config, "show", entry.checkId, "--json");
    expect([json.code, JSON.parse(json.stdout)]).toEqual([1, JSON.parse(checked.stdout)]);
    const shown = await cliWith(config, "show", entry.checkId.slice(0, 8));
    expect(shown.code).toBe(1);
    // colours are on where CI is set: compare the text
    expect(stripVTControlCharacters(shown.stdout)).toBe(stripVTControlCharacters(renderReport(reportSchema.parse(JSON.parse(checked.stdout)))));
    expect(shown.stdout).toContain("FAIL");

    expect((await cliWith(config, "show", entry.checkId, "--key", "gck_x")).stderr).toBe("gradcheck: error: --key is for a coordinator: pass --server URL too (without it, this machine's history is read)");
    const short = await cliWith(config, "show", entry.checkId.slice(0, 4));
    expect([short.code, short.stderr]).toEqual([2, expect.stringContaining("is too short: give a check's id, or its first 8 characters or more")]);
    const unknown = await cliWith(config, "show", "ffffffff-ffff");
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('no finished check in the history in')]);
  }, 120_000);

  it("keeps the history in an embedded database when no DATABASE_URL is set: a check goes to its journal, the next reader takes it in", async () => {
    const config = { debug: false, dataDir: join(directory, "embedded-history") };
    const checked = await cliWith(config, "check", correctPath, "--model", modelPath);
    expect(checked.code).toBe(0);
    expect(checked.stdout).toContain(`Saved to the history in ${config.dataDir}`);
    // the check did not open the database: one whole journal entry, no database folder yet
    expect((await readdir(`${config.dataDir}.journal`)).filter((name) => name.endsWith(".json"))).toHaveLength(1);
    expect(await readdir(config.dataDir).catch(() => [])).toEqual([]);
    const entries = JSON.parse((await cliWith(config, "history", "--json")).stdout) as { model: string; step: number }[];
    expect(entries.map((entry) => [entry.model, entry.step])).toEqual([["cli-test", 10]]);
    expect(await readdir(`${config.dataDir}.journal`)).toEqual([]);
  }, 120_000);

  it("sets aside a journal entry it cannot read, with a warning, and lists the rest", async () => {
    const config = { debug: false, dataDir: join(directory, "journal-damaged") };
    expect((await cliWith(config, "check", correctPath, "--model", modelPath)).code).toBe(0);
    await writeFile(join(`${config.dataDir}.journal`, "0000-cut-short.json"), '{"version": 1, "id": "x", "check": {"model"');
    const listed = await cliWith(config, "history", "--json");
    expect(listed.code).toBe(0);
    expect(listed.stderr).toMatch(/warning: a journal entry of the history could not be read and was set aside: .*0000-cut-short\.json/);
    expect(JSON.parse(listed.stdout)).toHaveLength(1);
    expect(await readdir(`${config.dataDir}.journal`)).toEqual(["0000-cut-short.json.rejected"]);
  }, 120_000);

  it("records two checks that share an embedded history at once; the same check again is kept once", async () => {
    const config = { debug: false, dataDir: join(directory, "shared-history") };
    const results = await Promise.all([
      cliWith(config, "check", correctPath, "--model", modelPath, "--json", "--run", "a"),
      cliWith(config, "check", correctPath, "--model", modelPath, "--json", "--run", "b"),
    ]);
    expect(results.map((result) => [result.code, result.stderr])).toEqual([
      [0, ""],
      [0, ""],
    ]);
    const entries = JSON.parse((await cliWith(config, "history", "--json")).stdout) as { checkId: string; run: string }[];
    expect(entries.map((entry) => entry.run)).toEqual(["a", "b"]);
    // the same checkpoint, options, run and step again: the history keeps the first, as the cluster does
    expect((await cliWith(config, "check", correctPath, "--model", modelPath, "--run", "a")).code).toBe(0);
    expect(JSON.parse((await cliWith(config, "history", "--json")).stdout)).toEqual(entries);
  }, 120_000);

  it("still reports the verdict when the history cannot be reached, with a warning", async () => {
    const config = { debug: false, databaseUrl: "postgresql://postgres@127.0.0.1:1/none", dataDir: join(directory, "unused") };
    const result = await cliWith(config, "check", correctPath, "--model", modelPath);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("PASS");
    expect(result.stderr).toMatch(/warning: the check was not saved/);
    const history = await cliWith(config, "history");
    expect(history.code).toBe(3); // a service that cannot be reached, not bad input
    expect(history.stderr).toMatch(/cannot read the PostgreSQL history/);
  });
});

describe("gradcheck keys create", () => {
  it("prints a new key alone on stdout, stored only as a hash, with its role", async () => {
    const result = await cli("keys", "create", "--role", "submitter", "--name", "ci");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^gck_[A-Za-z0-9_-]{43}$/);
    expect(result.stderr).toContain("not shown again");
    const prisma = await createClient({ url: database.url });
    try {
      expect(await new ApiKeyRepository(prisma).verify(result.stdout)).toMatchObject({ name: "ci", role: "submitter" });
    } finally {
      await prisma.$disconnect();
    }
  });

  it("refuses an unknown role or a missing one", async () => {
    expect((await cli("keys", "create", "--role", "root")).code).toBe(2);
    expect((await cli("keys", "create")).stderr).toMatch(/--role/);
  });
});

describe("gradcheck keys list and revoke", () => {
  it("lists keys without the key itself; revokes one by its prefix, after which it no longer verifies", async () => {
    const key = (await cli("keys", "create", "--role", "worker", "--name", "to-revoke")).stdout;
    const list = await cli("keys", "list");
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`to-revoke .*worker .*${key.slice(0, 10)}…`));
    expect(list.stdout).not.toContain(key.slice(10));
    const listed = JSON.parse((await cli("keys", "list", "--json")).stdout) as { name: string; revokedAt: string | null }[];
    expect(listed.find((entry) => entry.name === "to-revoke")).toMatchObject({ revokedAt: null });

    const revoked = await cli("keys", "revoke", key.slice(0, 10));
    expect([revoked.code, revoked.stdout]).toEqual([0, expect.stringMatching(/^Revoked the worker key "to-revoke" \(\S+, gck_\S+…\)/)]);
    const prisma = await createClient({ url: database.url });
    try {
      expect(await new ApiKeyRepository(prisma).verify(key)).toBeNull();
    } finally {
      await prisma.$disconnect();
    }
    expect((await cli("keys", "revoke", key.slice(0, 10))).stdout).toMatch(/was revoked already, at \d{4}-\d\d-\d\d /);
    expect((await cli("keys", "list")).stdout).toMatch(/to-revoke .*\d\d:\d\d:\d\d .*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
  });

  it("refuses an unknown key and too short a prefix, exit 2, revoking nothing", async () => {
    const unknown = await cli("keys", "revoke", "gck_nothing-like-it");
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringMatching(/^gradcheck: error: no API key in .* has the id or prefix "gck_nothing-like-it" \(gradcheck keys list shows them\)$/)]);
    const before = (await cli("keys", "list", "--json")).stdout;
    const short = await cli("keys", "revoke", "gck_");
    expect([short.code, short.stderr]).toEqual([2, 'gradcheck: error: "gck_" is too short to name one key: give its id, or its whole prefix as gradcheck keys list shows it (10 characters)']);
    expect((await cli("keys", "list", "--json")).stdout).toBe(before);
  });
});

describe("the installed binary", () => {
  const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
  const run = promisify(execFile);

  it("prints help with exit 0", async () => {
    const { stdout } = await run(process.execPath, [bin, "--help"]);
    expect(stdout).toContain("check");
    expect(stdout).toContain("Exit codes");
  });

  it("exits 2 with one line and no stack trace on a bad file", async () => {
    const path = join(directory, "garbage.safetensors");
    await writeFile(path, "garbage");
    const error = await run(process.execPath, [bin, "check", path, "--model", modelPath]).catch((e) => e);
    expect(error.code).toBe(2);
    expect(error.stderr.trim().split("\n")).toHaveLength(1);
    expect(error.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("gradcheck demo", () => {
  it("writes the demo files, shows a pass and a fail, and exits 0", async () => {
    const out = join(directory, "demo");
    const config = { debug: false, dataDir: join(directory, "demo-history") };
    const result = await cliWith(config, "demo", "--out", out);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("PASS");
    expect(result.stdout).toContain("FAIL");
    expect((await readdir(out)).sort()).toEqual(["correct.safetensors", "forgotten-l2.safetensors", "model.json"]);
    // its two checks are in the history, like any others
    const entries = JSON.parse((await cliWith(config, "history", "demo-mlp", "--json")).stdout) as { verdict: string }[];
    expect(entries.map((entry) => entry.verdict).sort()).toEqual(["fail", "pass"]);
  }, 120_000);
});
