import { createRequire } from "node:module";
import type * as GpuJs from "gpu.js";

/** gpu.js modes this backend runs in, fastest first. */
export const GPUJS_MODES = ["headlessgl", "webasm", "cpu"] as const;
export type GpuJsMode = (typeof GPUJS_MODES)[number];
export type GpuJsModeRequest = "auto" | GpuJsMode;

/** What `auto` looks at, passed in so that the choice itself reads no globals. */
export interface GpuJsEnvironment {
  /** the X display headless-gl renders through ($DISPLAY) */
  readonly display: string | undefined;
}

export const processEnvironment = (): GpuJsEnvironment => ({ display: process.env.DISPLAY });

/**
 * gpu.js, loaded on first use: worker threads that import this package only for the CPU
 * backend never pay for it. gpu.js itself tries the optional `gl` addon as it loads.
 */
export function loadGpuJs(): typeof GpuJs {
  return createRequire(import.meta.url)("gpu.js") as typeof GpuJs;
}

/** The `constructor.mode` gpu.js reports for a kernel that really runs in each mode. */
const KERNEL_MODE: Readonly<Record<GpuJsMode, string>> = { headlessgl: "gpu", webasm: "webasm", cpu: "cpu" };

/** Whether a trivial kernel builds, runs and stays in `mode` (gpu.js degrades some kernels to cpu). */
export function gpuJsModeWorks(mode: GpuJsMode): boolean {
  const { GPU } = loadGpuJs();
  let gpu: InstanceType<typeof GPU> | undefined;
  try {
    gpu = new GPU({ mode });
    const kernel = gpu.createKernel(function (values: Float32Array) {
      return values[this.thread.x] * 2;
    }, { output: [4] });
    const result = kernel(Float32Array.of(1, 2, 3, 4)) as Float32Array;
    return result[3] === 8 && ranIn(kernel, mode);
  } catch {
    return false;
  } finally {
    void gpu?.destroy();
  }
}

/** Whether a built kernel runs in `mode` rather than in a fallback. */
export function ranIn(kernel: { kernel: object }, mode: GpuJsMode): boolean {
  return (kernel.kernel.constructor as { mode?: string }).mode === KERNEL_MODE[mode];
}

/** The modes that work on this machine, fastest first. */
export function availableGpuJsModes(): GpuJsMode[] {
  return GPUJS_MODES.filter(gpuJsModeWorks);
}

/** Whether gpu.js reaches a GPU (or at least GL) here: headless-gl loads and an X display is set. */
export function headlessGlAvailable(
  environment: GpuJsEnvironment = processEnvironment(),
  works: (mode: GpuJsMode) => boolean = gpuJsModeWorks,
): boolean {
  return Boolean(environment.display) && works("headlessgl");
}

/** `auto`: headless-gl where a display is set and it works, else webasm where it works, else cpu. */
export function resolveGpuJsMode(
  request: GpuJsModeRequest,
  environment: GpuJsEnvironment = processEnvironment(),
  works: (mode: GpuJsMode) => boolean = gpuJsModeWorks,
): GpuJsMode {
  if (request !== "auto") return request;
  if (headlessGlAvailable(environment, works)) return "headlessgl";
  return works("webasm") ? "webasm" : "cpu";
}
