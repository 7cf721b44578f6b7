import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { reportSchema } from "@gradcheck/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliConfig } from "../config.js";
import { main } from "../program.js";

// PyTorch's own float64 fixtures (python/golden/make_golden.py): a state_dict, grad.<name>, X and Y.
const GOLDEN = fileURLToPath(new URL("../../../../packages/engine/test/golden/", import.meta.url));
const golden = (name: string) => ({ checkpoint: `${GOLDEN}${name}.safetensors`, model: `${GOLDEN}${name}.json` });

let directory: string;
let config: CliConfig;

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["node", "gradcheck", ...args], { out: (text) => out.push(text), err: (text) => err.push(text) }, config);
  return { code, stdout: stripVTControlCharacters(out.join("\n")), stderr: stripVTControlCharacters(err.join("\n")) };
}

/** A copy of a safetensors file with one F64 tensor's values multiplied by `factor`. */
async function withScaledTensor(path: string, name: string, factor: number, to: string): Promise<string> {
  const bytes = new Uint8Array(await readFile(path));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const { dtype, data_offsets: [start, end] } = header[name];
  if (dtype !== "F64") throw new Error(`${name} is ${dtype}`);
  for (let at = 8 + headerLength + start; at < 8 + headerLength + end; at += 8) view.setFloat64(at, view.getFloat64(at, true) * factor, true);
  await writeFile(to, bytes);
  return to;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "gradcheck-graph-cli-"));
  // the embedded history, in a directory of this test's own
  config = { debug: false, dataDir: join(directory, "data") };
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("gradcheck check of a version 2 (PyTorch) model", () => {
  it("passes torch's gradients of a transformer, names tensors as the state_dict does, and saves the check", async () => {
    const { checkpoint, model } = golden("tiny-gpt");
    const result = await cli("check", checkpoint, "--model", model);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("PASS");
    expect(result.stdout).toContain("blocks.0.attn.qkv.weight");
    expect(result.stdout).toContain("[dropout-disabled]");
    expect(result.stdout).toContain("gradcheck history tiny-gpt");
    const history = await cli("history", "tiny-gpt");
    expect(history.code).toBe(0);
    expect(history.stdout).toContain("pass");
    // the check, then the embedded database's creation: 32 s beside the other suites once
  }, 120_000);

  it("fails a doubled gradient in the one tensor that has it, with the report in JSON", async () => {
    const { checkpoint, model } = golden("lenet");
    const broken = await withScaledTensor(checkpoint, "grad.conv2.weight", 2, join(directory, "lenet-doubled.safetensors"));
    const result = await cli("check", broken, "--model", model, "--json", "--no-save");
    expect(result.code).toBe(1);
    const report = reportSchema.parse(JSON.parse(result.stdout));
    expect(report.model).toBe("lenet");
    expect(report.tensors.filter((t) => t.verdict === "fail").map((t) => t.name)).toEqual(["conv2.weight"]);
    expect(report.diagnosis.map((finding) => finding.code)).toContain("scale");
  });

  it("refuses --backend gpujs, whose float32 screen covers MLPs only (exit 2)", async () => {
    const { checkpoint, model } = golden("lenet");
    const result = await cli("check", checkpoint, "--model", model, "--backend", "gpujs", "--no-save");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--backend gpujs screens version 1 MLPs only");
  });

  it("refuses a checkpoint of another model under the spec's names, naming the missing tensor (exit 2)", async () => {
    const result = await cli("check", golden("lenet").checkpoint, "--model", golden("tiny-gpt").model, "--no-save");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/tok\.weight/);
    expect(result.stdout).toBe("");
  });
});
