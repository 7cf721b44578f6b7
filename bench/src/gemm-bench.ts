import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL("./gemm-child.js", import.meta.url));
const SIZE = 1024;

export interface GemmFigures {
  /** GFLOP/s per kernel, one process and `cores` processes at once (summed) */
  readonly kernels: { readonly kernel: string; readonly one: number; readonly all: number }[];
  /** numpy's dgemm in the same run, or why not */
  readonly numpy: { readonly blas: string; readonly one: number; readonly all: number } | { readonly missing: string };
  /** the same with the machine's own OpenBLAS core type (OPENBLAS_CORETYPE), where one is set */
  readonly pinned?: { readonly coreType: string; readonly one: number; readonly all: number };
  readonly cores: number;
}

async function kernelRate(kernel: string, processes: number): Promise<{ kernel: string; gflops: number }> {
  const results = await Promise.all(Array.from({ length: processes }, () => run(process.execPath, [CHILD, String(SIZE), kernel])));
  const parsed = results.map(({ stdout }) => JSON.parse(stdout) as { kernel: string; gflops: number });
  return { kernel: parsed[0].kernel, gflops: parsed.reduce((sum, result) => sum + result.gflops, 0) };
}

// numpy's matmul on the same n×n float64 matrices: OpenBLAS (or whatever numpy links) dgemm.
const NUMPY = `
import json, time, numpy as np
n = ${SIZE}
a = np.random.rand(n, n); b = np.random.rand(n, n); a @ b
best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(5))
blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
print(json.dumps({"gflops": 2 * n**3 / best / 1e9, "blas": f"{blas.get('name')} {blas.get('version')}"}))
`;

async function numpyRate(threads: number, asShipped = true): Promise<{ gflops: number; blas: string }> {
  // The machine's OpenBLAS settings may pin a core type or cache size: the reference runs as
  // shipped (OpenBLAS picks the widest kernels the CPU has), unless told otherwise.
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  if (asShipped) {
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
  }
  const { stdout } = await run("python3", ["-c", NUMPY], { env });
  return JSON.parse(stdout) as { gflops: number; blas: string };
}

/** The kernel layer against numpy's dgemm, both on one core and on every core. */
export async function gemmFigures(cores: number, kernels: readonly string[]): Promise<GemmFigures> {
  const measured = [];
  for (const kernel of kernels) {
    const one = await kernelRate(kernel, 1);
    if (one.kernel !== kernel) continue; // not available in this runtime
    measured.push({ kernel, one: one.gflops, all: (await kernelRate(kernel, cores)).gflops });
  }
  let numpy: GemmFigures["numpy"];
  try {
    const one = await numpyRate(1);
    const all = await numpyRate(cores);
    numpy = { blas: one.blas, one: one.gflops, all: all.gflops };
  } catch (error) {
    numpy = { missing: error instanceof Error ? error.message.split("\n")[0] : String(error) };
  }
  const coreType = process.env.OPENBLAS_CORETYPE;
  const pinned = coreType && !("missing" in numpy) ? { coreType, one: (await numpyRate(1, false)).gflops, all: (await numpyRate(cores, false)).gflops } : undefined;
  return { kernels: measured, numpy, pinned, cores };
}
