// Builds dist/gemm-native.node, the native GEMM addon, with the machine's C compiler and
// Node's own headers. It is optional: where no compiler or no headers are found (or
// GRADCHECK_NATIVE=0), the build says so and the WebAssembly kernels serve. One binary for
// every CPU of its architecture: no -march, the kernels pick their instructions at load time.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const output = join(root, "dist", "gemm-native.node");
const skip = (reason) => {
  rmSync(output, { force: true });
  console.log(`native GEMM kernel not built (${reason}): the WebAssembly kernels serve`);
  process.exit(0);
};

if (process.env.GRADCHECK_NATIVE === "0") skip("GRADCHECK_NATIVE=0");
if (process.platform === "win32") skip("no build recipe for Windows");
const headers = join(dirname(process.execPath), "..", "include", "node");
if (!existsSync(join(headers, "node_api.h"))) skip(`Node's headers are not in ${headers}`);
const compiler = process.env.CC || "cc";
mkdirSync(dirname(output), { recursive: true });
const flags = ["-std=gnu11", "-O3", "-ffp-contract=off", "-fPIC", "-shared", "-fvisibility=hidden", `-I${headers}`];
if (process.platform === "darwin") flags.push("-undefined", "dynamic_lookup");
const result = spawnSync(compiler, [...flags, join(root, "native", "gemm.c"), "-o", output, "-lm"], { encoding: "utf8" });
if (result.error) skip(`${compiler}: ${result.error.code === "ENOENT" ? "not found" : result.error.message}`);
if (result.status !== 0) skip(`${compiler} failed: ${(result.stderr || "").trim().split("\n").slice(0, 3).join(" ")}`);
console.log("wrote dist/gemm-native.node (x86-64 AVX-512 8×24 and AVX2 6×8 tiles, chosen at load time)");
