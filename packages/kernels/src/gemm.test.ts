import { existsSync, readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { gemm, gemmFloat32, gemmKernel, selectGemmKernel, type GemmKernel } from "./gemm.js";

/** Whether the native addon was built, and which of its instruction sets this CPU has. */
const addonBuilt = existsSync(new URL("../dist/gemm-native.node", import.meta.url));
const cpuFlags = existsSync("/proc/cpuinfo") ? (/^flags\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1].split(/\s+/) ?? []) : [];
const nativeExpected: Partial<Record<GemmKernel, boolean>> = {
  "native-avx512": addonBuilt && cpuFlags.includes("avx512f"),
  "native-avx2": addonBuilt && cpuFlags.includes("avx2") && cpuFlags.includes("fma"),
};

/** A seeded stream of values in (−1, 1), some exactly 0 (the kernels skip nothing on them). */
function values(count: number, seed: number): Float64Array {
  let state = seed >>> 0;
  return Float64Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % 11 === 0 ? 0 : state / 2 ** 31 - 1;
  });
}

interface Case {
  m: number;
  n: number;
  k: number;
  transposeA: boolean;
  transposeB: boolean;
  absoluteA: boolean;
  absoluteB: boolean;
  accumulate: boolean;
  /** extra columns of every leading dimension */
  pad: number;
}

/** The definition, one sum at a time, with the worst |term| sum for the tolerance. */
function reference(c: Case, a: Float64Array, b: Float64Array, start: Float64Array, lda: number, ldb: number, ldc: number) {
  const out = Float64Array.from(start);
  const magnitude = new Float64Array(start.length);
  for (let i = 0; i < c.m; i++)
    for (let j = 0; j < c.n; j++) {
      let sum = c.accumulate ? start[i * ldc + j] : 0;
      let size = Math.abs(sum);
      for (let p = 0; p < c.k; p++) {
        let x = c.transposeA ? a[p * lda + i] : a[i * lda + p];
        let y = c.transposeB ? b[j * ldb + p] : b[p * ldb + j];
        if (c.absoluteA) x = Math.abs(x);
        if (c.absoluteB) y = Math.abs(y);
        sum += x * y;
        size += Math.abs(x * y);
      }
      out[i * ldc + j] = sum;
      magnitude[i * ldc + j] = size;
    }
  return { out, magnitude };
}

function run(c: Case, seed: number) {
  const lda = (c.transposeA ? c.m : c.k) + c.pad;
  const ldb = (c.transposeB ? c.k : c.n) + c.pad;
  const ldc = c.n + c.pad;
  const a = values((c.transposeA ? c.k : c.m) * lda, seed);
  const b = values((c.transposeB ? c.n : c.k) * ldb, seed + 1);
  const start = values(c.m * ldc, seed + 2);
  const expected = reference(c, a, b, start, lda, ldb, ldc);
  const out = Float64Array.from(start);
  gemm({ ...c, a, b, c: out, lda, ldb, ldc });
  let worst = 0;
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < c.n; j++) {
      const index = i * ldc + j;
      worst = Math.max(worst, Math.abs(out[index] - expected.out[index]) / (expected.magnitude[index] || 1));
    }
    // the padding between rows of C is left as it was
    for (let j = c.n; j < ldc; j++) expect(out[i * ldc + j]).toBe(start[i * ldc + j]);
  }
  return worst;
}

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [2, 8, 256],
  [37, 29, 300],
  [97, 1545, 9],
  [130, 17, 513],
  [64, 256, 64],
];
const flags = [
  { transposeA: false, transposeB: false, absoluteA: false, absoluteB: false, accumulate: false, pad: 0 },
  { transposeA: true, transposeB: false, absoluteA: false, absoluteB: true, accumulate: true, pad: 3 },
  { transposeA: false, transposeB: true, absoluteA: true, absoluteB: false, accumulate: false, pad: 1 },
  { transposeA: true, transposeB: true, absoluteA: true, absoluteB: true, accumulate: true, pad: 0 },
];

describe.each(["native-avx512", "native-avx2", "wasm-simd-fma", "wasm-simd", "js"] as GemmKernel[])("gemm on the %s kernel", (kind) => {
  afterAll(() => {
    selectGemmKernel("auto");
  });

  it("is selected where this runtime supports it", () => {
    const selected = selectGemmKernel(kind);
    if (kind in nativeExpected) {
      // built on a CPU that has the instructions: it must load and run; else plain loops
      expect(selected).toBe(nativeExpected[kind] ? kind : "js");
      return;
    }
    // WebAssembly SIMD is in every Node this project supports; relaxed SIMD may not be
    expect([kind, "wasm-simd"]).toContain(selected);
  });

  it.each(shapes.flatMap(([m, n, k]) => flags.map((flag) => ({ m, n, k, ...flag }))))(
    "equals the definition within the rounding of two k-term sums: %j",
    (c) => {
      selectGemmKernel(kind);
      // each of the two orders of summation errs by at most (k + 1)·u of the terms' magnitudes
      expect(run(c, c.m * 31 + c.n * 7 + c.k)).toBeLessThan(2 * (c.k + 1) * 2 ** -53);
    },
  );
});

describe("the default kernel", () => {
  it("is the native one where it is built and the CPU runs it, else a WebAssembly one", () => {
    const widest = (["native-avx512", "native-avx2"] as const).find((kind) => nativeExpected[kind]);
    if (widest) expect(selectGemmKernel("auto")).toBe(widest);
    else expect(selectGemmKernel("auto")).toMatch(/^wasm-simd/);
    expect(gemmKernel()).toBe(selectGemmKernel("auto"));
  });

  it.runIf(addonBuilt && nativeExpected["native-avx2"])("refuses, natively, operands shorter than their sizes need instead of reading past them", () => {
    selectGemmKernel("auto");
    const square = (count: number) => new Float64Array(count);
    expect(() => gemm({ m: 40, n: 40, k: 40, a: square(1600), b: square(1600), c: square(1599) })).toThrow(RangeError);
    expect(() => gemm({ m: 40, n: 40, k: 40, a: square(1600), b: square(1600), c: square(1600), lda: 41 })).toThrow(/shorter/);
    expect(() => gemm({ m: 40, n: 40, k: 40, a: square(1600), b: square(1600), c: square(1600), ldb: 39 })).toThrow(/leading dimension/);
  });

  it("gives, in worker threads at once on shared memory, the bits it gives in this thread", async () => {
    selectGemmKernel("auto");
    const [m, n, k] = [70, 300, 513];
    const a = new Float64Array(new SharedArrayBuffer(8 * m * k));
    a.set(values(m * k, 11));
    const b = new Float64Array(new SharedArrayBuffer(8 * k * n));
    b.set(values(k * n, 12));
    const expected = new Float64Array(m * n);
    gemm({ m, n, k, a, b, c: expected });
    const module = new URL(import.meta.url.endsWith(".ts") ? "../dist/gemm.js" : "./gemm.js", import.meta.url).href;
    // each thread packs into its own buffers: two at once must not mix their blocks
    const run = () =>
      new Promise<{ kind: string; c: Float64Array }>((resolve, reject) => {
        const worker = new Worker(
          `const { workerData, parentPort } = require("node:worker_threads");
           import(workerData.module).then(({ gemm, gemmKernel }) => {
             const { m, n, k, a, b } = workerData;
             const c = new Float64Array(m * n);
             for (let repeat = 0; repeat < 20; repeat++) gemm({ m, n, k, a, b, c });
             parentPort.postMessage({ kind: gemmKernel(), c });
           });`,
          { eval: true, workerData: { module, m, n, k, a, b } },
        );
        worker.once("message", resolve);
        worker.once("error", reject);
      });
    const results = await Promise.all([run(), run()]);
    for (const { kind, c } of results) {
      expect(kind).toBe(gemmKernel());
      expect(Buffer.from(c.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    }
  });

  it("does nothing for empty products but clear C when not accumulating", () => {
    const c = new Float64Array([1, 2, 3, 4]);
    gemm({ m: 2, n: 2, k: 0, a: new Float64Array(0), b: new Float64Array(0), c });
    expect([...c]).toEqual([0, 0, 0, 0]);
    const kept = new Float64Array([1, 2]);
    gemm({ m: 1, n: 2, k: 0, a: new Float64Array(0), b: new Float64Array(0), c: kept, accumulate: true });
    expect([...kept]).toEqual([1, 2]);
  });
});

describe.each(["auto", "js"] as const)("gemmFloat32 (%s)", (kind) => {
  afterAll(() => {
    selectGemmKernel("auto");
  });

  /** Each term and each partial sum rounded to float32, in the definition's order. */
  function float32Reference(m: number, n: number, k: number, a: Float64Array, b: Float64Array) {
    const out = new Float64Array(m * n);
    const magnitude = new Float64Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const term = Math.fround(Math.fround(a[i * k + p]) * Math.fround(b[p * n + j]));
          sum = Math.fround(sum + term);
          magnitude[i * n + j] += Math.abs(term);
        }
        out[i * n + j] = sum;
      }
    return { out, magnitude };
  }

  it.each([
    [5, 7, 3, false],
    [33, 70, 300, true],
    [64, 40, 513, false],
  ])("is, bit for bit, float32 arithmetic summing each term last first, %i×%i×%i (accumulate: %s)", (m, n, k, accumulate) => {
    selectGemmKernel(kind);
    const a = values(k * m, m + k + 5);
    const b = values(n * k, n + k + 5);
    const start = values(m * n, 3);
    const c = Float64Array.from(start);
    gemmFloat32({ m, n, k, a, b, c, transposeA: true, transposeB: true, accumulate });
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = k - 1; p >= 0; p--) sum = Math.fround(sum + Math.fround(Math.fround(a[p * m + i]) * Math.fround(b[j * k + p])));
        expect(c[i * n + j]).toBe(accumulate ? Math.fround(Math.fround(start[i * n + j]) + sum) : sum);
      }
  });

  it.each([
    [5, 7, 3],
    [33, 70, 300],
    [64, 40, 513],
  ])("rounds like float32 arithmetic, %i×%i×%i: float32 values within float32's rounding of the sums", (m, n, k) => {
    selectGemmKernel(kind);
    const a = values(m * k, m + k);
    const b = values(k * n, n + k);
    const expected = float32Reference(m, n, k, a, b);
    const c = new Float64Array(m * n);
    gemmFloat32({ m, n, k, a, b, c });
    let worst = 0;
    let exactInFloat64 = 0;
    for (let index = 0; index < c.length; index++) {
      expect(Math.fround(c[index])).toBe(c[index]);
      worst = Math.max(worst, Math.abs(c[index] - expected.out[index]) / (expected.magnitude[index] || 1));
    }
    // a float64 product would agree with the float32 one only to float32's precision
    gemm({ m, n, k, a, b, c: expected.out });
    for (let index = 0; index < c.length; index++) if (c[index] === expected.out[index]) exactInFloat64++;
    expect(worst).toBeLessThan(2 * (k + 1) * 2 ** -24);
    expect(exactInFloat64).toBeLessThan(c.length / 2);
  });
});

