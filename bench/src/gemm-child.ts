import { gemm, selectGemmKernel, type GemmKernel } from "@gradcheck/kernels";

/**
 * Child process of the benchmark: the kernel layer's best float64 GEMM rate on n×n matrices,
 * so that several can run at once, one per core. Prints one JSON line.
 */
const [size, kernelArgument] = process.argv.slice(2);
const n = Number(size);
const kernel = selectGemmKernel(kernelArgument as GemmKernel | "auto");
const a = Float64Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
const b = Float64Array.from({ length: n * n }, (_, i) => ((i * 104_729) % 1000) / 1000 - 0.5);
const c = new Float64Array(n * n);
gemm({ m: n, n, k: n, a, b, c });
let best = Infinity;
for (let repeat = 0; repeat < 5; repeat++) {
  const started = performance.now();
  gemm({ m: n, n, k: n, a, b, c });
  best = Math.min(best, performance.now() - started);
}
console.log(JSON.stringify({ kernel, gflops: (2 * n ** 3) / (best / 1000) / 1e9 }));
