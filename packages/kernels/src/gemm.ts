import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { setFlagsFromString } from "node:v8";
import { isMainThread } from "node:worker_threads";

/**
 * C = op(A)·op(B) (+ C with `accumulate`), float64, row-major, where op(X) is X, Xᵀ with
 * `transposeA`/`transposeB`, and |X| elementwise with `absoluteA`/`absoluteB` (the magnitude
 * products of the rounding bounds). Leading dimensions default to the rows' lengths.
 */
export interface GemmArguments {
  /** rows of op(A) and C */
  readonly m: number;
  /** columns of op(B) and C */
  readonly n: number;
  /** columns of op(A), rows of op(B) */
  readonly k: number;
  readonly a: Float64Array;
  readonly b: Float64Array;
  readonly c: Float64Array;
  readonly transposeA?: boolean;
  readonly transposeB?: boolean;
  readonly absoluteA?: boolean;
  readonly absoluteB?: boolean;
  readonly lda?: number;
  readonly ldb?: number;
  readonly ldc?: number;
  readonly accumulate?: boolean;
  /**
   * The kernel whatever the size: small products otherwise take plain loops, whose rounding
   * differs. For a caller whose results must not depend on how many columns come together.
   */
  readonly anySize?: boolean;
}

/** Which implementation runs the large products in this thread. */
export type GemmKernel = "native-avx512" | "native-avx2" | "wasm-simd-fma" | "wasm-simd" | "js";

/** The native addon (native/gemm.c), built where the machine has a C compiler. */
interface NativeAddon {
  gemm(m: number, n: number, k: number, a: Float64Array, lda: number, transposeA: boolean, absoluteA: boolean, b: Float64Array, ldb: number, transposeB: boolean, absoluteB: boolean, c: Float64Array, ldc: number): void;
  /** this thread's instruction set, or null where the CPU has neither AVX2 nor AVX-512 */
  isa(): "avx512" | "avx2" | null;
  selectIsa(name: "avx512" | "avx2" | "best"): boolean;
}

// Kept in step with scripts/gemm-wat.mjs.
const MR = 2;
const NR = 8;
const NR32 = 16;
/** Blocking: an MC×KC block of A stays in L2 while every NR-wide panel of B passes it. */
const KC = 256;
const MC = 96;
const NC = 1536;
/** Below this many multiply-adds, packing costs more than it saves: plain loops. */
const SMALL = 16_384;

interface WasmKernel {
  readonly kind: GemmKernel;
  /** bytes per element: 8, or 4 for the float32 kernel */
  readonly element: 4 | 8;
  /** columns per tile */
  readonly nr: number;
  readonly memory: WebAssembly.Memory;
  readonly macro: (mt: number, nt: number, kc: number, ap: number, bp: number, c: number, ldc: number) => void;
}

const KERNELS: readonly (GemmKernel | "auto")[] = ["auto", "native-avx512", "native-avx2", "wasm-simd-fma", "wasm-simd", "js"];

/** GRADCHECK_KERNEL, where it names a kernel; a misspelt one is said once and ignored. */
function requestedByEnvironment(): GemmKernel | "auto" {
  const value = process.env.GRADCHECK_KERNEL;
  if (value === undefined || value === "") return "auto";
  if ((KERNELS as readonly string[]).includes(value)) return value as GemmKernel | "auto";
  if (isMainThread) process.emitWarning(`GRADCHECK_KERNEL=${value} is not one of ${KERNELS.join(", ")}; the fastest available kernel serves`);
  return "auto";
}

let requested: GemmKernel | "auto" = requestedByEnvironment();
let loaded: WasmKernel | null | undefined;
let native: NativeAddon | null | undefined;

/**
 * Picks the kernel of this thread's later products: the fastest one available ("auto", the
 * default, or what GRADCHECK_KERNEL names), or one of them, to compare them (tests, bench).
 */
export function selectGemmKernel(kind: GemmKernel | "auto"): GemmKernel {
  requested = kind;
  loaded = undefined;
  loaded32 = undefined;
  native = undefined;
  return gemmKernel();
}

/**
 * The native addon where it is built, loads, and runs the kernel asked for: AVX-512 or AVX2
 * tiles are 4 or 2 times as wide as WebAssembly's, so "auto" takes them first.
 */
function nativeKernel(): NativeAddon | null {
  if (native !== undefined) return native;
  native = null;
  if (requested !== "auto" && !requested.startsWith("native-")) return native;
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)("../dist/gemm-native.node") as NativeAddon;
  } catch {
    return native;
  }
  const isa = requested === "auto" ? "best" : (requested.slice("native-".length) as "avx512" | "avx2");
  if (addon.selectIsa(isa) && addon.isa() !== null) native = addon;
  return native;
}

/**
 * The fastest WebAssembly kernel this runtime runs: relaxed SIMD's fused multiply-add where V8
 * offers it (Node 20 behind a flag that this turns on; later Nodes by default), plain SIMD
 * otherwise, and none (plain loops) where WebAssembly SIMD is missing or "js" is asked for.
 */
function kernel(): WasmKernel | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (requested === "js" || requested.startsWith("native-")) return loaded;
  const attempts: [GemmKernel, string][] = [
    ["wasm-simd-fma", "gemm-fma.wasm"],
    ["wasm-simd", "gemm.wasm"],
  ];
  for (const [kind, file] of attempts) {
    if (requested !== "auto" && requested !== kind) continue;
    loaded = instantiate(kind, file, 8, NR);
    if (loaded) return loaded;
  }
  loaded = null;
  return loaded;
}

/** The module in dist/, or null where it is not built or not supported here. */
function instantiate(kind: GemmKernel, file: string, element: 4 | 8, nr: number): WasmKernel | null {
  try {
    const bytes = readFileSync(new URL(`../dist/${file}`, import.meta.url));
    // Node 20 has relaxed SIMD behind a flag; it must be on before the module is compiled
    if (kind === "wasm-simd-fma" && !WebAssembly.validate(bytes)) setFlagsFromString("--experimental-wasm-relaxed-simd");
    if (!WebAssembly.validate(bytes)) return null;
    const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as { memory: WebAssembly.Memory; macro: WasmKernel["macro"] };
    return { kind, element, nr, memory: exports.memory, macro: exports.macro };
  } catch {
    return null;
  }
}

let loaded32: WasmKernel | null | undefined;

function kernel32(): WasmKernel | null {
  if (loaded32 === undefined) loaded32 = requested === "js" ? null : instantiate("wasm-simd", "gemm-f32.wasm", 4, NR32);
  return loaded32;
}

/** The kernel that large products use in this thread. */
export function gemmKernel(): GemmKernel {
  const addon = nativeKernel();
  if (addon) return `native-${addon.isa()!}`;
  return kernel()?.kind ?? "js";
}

export function gemm(args: GemmArguments): void {
  const { m, n, k } = args;
  if (m === 0 || n === 0) return;
  const ldc = args.ldc ?? n;
  if (!args.accumulate) for (let i = 0; i < m; i++) args.c.fill(0, i * ldc, i * ldc + n);
  if (k === 0) return;
  const large = args.anySize || m * n * k >= SMALL;
  const addon = large ? nativeKernel() : null;
  if (addon) {
    const { lda, ldb } = leadingDimensions(args);
    addon.gemm(m, n, k, args.a, lda, args.transposeA === true, args.absoluteA === true, args.b, ldb, args.transposeB === true, args.absoluteB === true, args.c, ldc);
    return;
  }
  const wasm = large ? kernel() : null;
  if (wasm) blockedGemm(wasm, args, ldc, KC, false);
  else plainGemm(args, ldc, (value) => value, false);
}

/**
 * The same product in float32 arithmetic, as a float32 implementation that takes each sum
 * one term at a time computes it: operands and C rounded to float32, every multiply and every
 * add rounded to float32, each sum from its last term to its first (then added to C), so that
 * long sums carry the rounding error that grows with their length. The result is float32
 * values in `c`.
 */
export function gemmFloat32(args: GemmArguments): void {
  const { m, n, k } = args;
  if (m === 0 || n === 0) return;
  const ldc = args.ldc ?? n;
  for (let i = 0; i < m; i++) {
    if (args.accumulate) for (let j = i * ldc; j < i * ldc + n; j++) args.c[j] = Math.fround(args.c[j]);
    else args.c.fill(0, i * ldc, i * ldc + n);
  }
  if (k === 0) return;
  const wasm = m * n * k >= SMALL ? kernel32() : null;
  // one block as deep as the sum: nothing splits it
  if (wasm) blockedGemm(wasm, args, ldc, k, true);
  else plainGemm(args, ldc, Math.fround, true);
}

/** A's and B's leading dimensions: as given, else the length of their stored rows. */
function leadingDimensions(args: GemmArguments): { lda: number; ldb: number } {
  return { lda: args.lda ?? (args.transposeA ? args.m : args.k), ldb: args.ldb ?? (args.transposeB ? args.k : args.n) };
}

/** op(X)[row, column] as a flat index into X. */
const at = (transposed: boolean | undefined, ld: number) =>
  transposed ? (row: number, column: number) => column * ld + row : (row: number, column: number) => row * ld + column;

/**
 * `round` after every operation: the identity, or Math.fround for float32 arithmetic; with
 * `reverse`, each sum from its last term to its first, started at 0 and then added to C.
 */
function plainGemm(args: GemmArguments, ldc: number, round: (value: number) => number, reverse: boolean): void {
  const { m, n, k, a, b, c } = args;
  const { lda, ldb } = leadingDimensions(args);
  const aAt = at(args.transposeA, lda);
  const bAt = at(args.transposeB, ldb);
  const absA = args.absoluteA === true;
  const absB = args.absoluteB === true;
  if (reverse) {
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = k - 1; p >= 0; p--) {
          let x = round(a[aAt(i, p)]);
          let y = round(b[bAt(p, j)]);
          if (absA) x = Math.abs(x);
          if (absB) y = Math.abs(y);
          sum = round(sum + round(x * y));
        }
        c[i * ldc + j] = round(c[i * ldc + j] + sum);
      }
    return;
  }
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      let x = round(a[aAt(i, p)]);
      if (absA) x = Math.abs(x);
      if (x === 0) continue;
      const row = i * ldc;
      for (let j = 0; j < n; j++) {
        const y = round(b[bAt(p, j)]);
        c[row + j] = round(c[row + j] + round(x * (absB ? Math.abs(y) : y)));
      }
    }
  }
}

/** Bytes of wasm memory the blocks need, grown on demand. */
function reserve(wasm: WasmKernel, elements: number): Float64Array | Float32Array {
  const missing = elements * wasm.element - wasm.memory.buffer.byteLength;
  if (missing > 0) wasm.memory.grow(Math.ceil(missing / 65_536));
  return wasm.element === 8 ? new Float64Array(wasm.memory.buffer) : new Float32Array(wasm.memory.buffer);
}

const roundUp = (value: number, multiple: number) => Math.ceil(value / multiple) * multiple;

/** Blocks of depth KC (or `depth`); `reverse` packs every sum's terms last first. */
function blockedGemm(wasm: WasmKernel, args: GemmArguments, ldc: number, depth: number, reverse: boolean): void {
  const { m, n, k, a, b, c } = args;
  const { lda, ldb } = leadingDimensions(args);
  const { nr, element } = wasm;
  const mPadded = roundUp(m, MR);
  const ncMax = Math.min(NC, roundUp(n, nr));
  // memory: packed A (MC×KC) | packed B (KC×NC) | the C strip (mPadded × ncMax)
  const aBase = 0;
  const bBase = MC * depth;
  const cBase = bBase + depth * NC;
  const memory = reserve(wasm, cBase + mPadded * ncMax);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    const ncPadded = roundUp(nc, nr);
    // the C strip, rows ncPadded apart
    for (let i = 0; i < m; i++) {
      const strip = cBase + i * ncPadded;
      memory.set(c.subarray(i * ldc + jc, i * ldc + jc + nc), strip);
      memory.fill(0, strip + nc, strip + ncPadded);
    }
    memory.fill(0, cBase + m * ncPadded, cBase + mPadded * ncPadded);
    for (let pc = 0; pc < k; pc += depth) {
      const kc = Math.min(depth, k - pc);
      // the terms p of this block, as indices into op(A)'s columns and op(B)'s rows
      const first = reverse ? k - 1 - pc : pc;
      const step = reverse ? -1 : 1;
      // op(B)'s columns: a transposed B holds each one's terms side by side
      packPanels(memory, bBase, nr, b, ldb, args.transposeB === true, args.absoluteB, jc, nc, ncPadded, first, step, kc);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        const mcPadded = roundUp(mc, MR);
        packPanels(memory, aBase, MR, a, lda, args.transposeA !== true, args.absoluteA, ic, mc, mcPadded, first, step, kc);
        wasm.macro(mcPadded / MR, ncPadded / nr, kc, element * aBase, element * bBase, element * (cBase + ic * ncPadded), element * ncPadded);
      }
    }
    for (let i = 0; i < m; i++) c.set(memory.subarray(cBase + i * ncPadded, cBase + i * ncPadded + nc), i * ldc + jc);
  }
}

/**
 * Packs `count` lines of an operand (rows of op(A), or columns of op(B)) from line `start`,
 * terms first + step·p for p < kc, into panels of `width` lines: value (line r, term p) of a
 * panel at width·p + r, lines past `count` 0 up to `padded`. `alongTerms`: a line's terms are
 * adjacent in memory (element (line, term) at line·ld + term), else lines are (term·ld + line);
 * either way the source is read in order.
 */
function packPanels(
  memory: Float64Array | Float32Array,
  base: number,
  width: number,
  source: Float64Array,
  ld: number,
  alongTerms: boolean,
  absolute: boolean | undefined,
  start: number,
  count: number,
  padded: number,
  first: number,
  step: number,
  kc: number,
): void {
  if (alongTerms) {
    for (let panel = 0; panel < padded; panel += width) {
      const out = base + panel * kc;
      for (let r = 0; r < width; r++) {
        if (panel + r >= count) {
          for (let p = 0; p < kc; p++) memory[out + p * width + r] = 0;
          continue;
        }
        const offset = (start + panel + r) * ld + first;
        for (let p = 0; p < kc; p++) memory[out + p * width + r] = source[offset + step * p];
      }
    }
  } else {
    for (let p = 0; p < kc; p++) {
      const offset = (first + step * p) * ld + start;
      for (let panel = 0; panel < padded; panel += width) {
        const out = base + panel * kc + p * width;
        const lines = Math.min(width, count - panel);
        for (let r = 0; r < lines; r++) memory[out + r] = source[offset + panel + r];
        for (let r = lines; r < width; r++) memory[out + r] = 0;
      }
    }
  }
  if (absolute) for (let index = base; index < base + padded * kc; index++) memory[index] = Math.abs(memory[index]);
}
