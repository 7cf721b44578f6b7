import type { CpuBackend } from "@gradcheck/compute";
import type { GpuJsEnvironment, GpuJsModeRequest } from "@gradcheck/compute/gpujs";
import { parameterLayout } from "@gradcheck/models/evaluator";
import type { MlpCheckInput } from "./check-input.js";
import { ScreenedBackend, type ScreenSample } from "./screen.js";

/** What the user asks for: `--backend cpu|gpujs|auto`. */
export const BACKEND_REQUESTS = ["cpu", "gpujs", "auto"] as const;
export type BackendRequest = (typeof BACKEND_REQUESTS)[number];
export type ComputeBackendName = Exclude<BackendRequest, "auto">;
/** What the user may ask of gpu.js: `--gpujs-mode`. */
export const GPUJS_MODE_REQUESTS = ["auto", "headlessgl", "webasm", "cpu"] as const satisfies readonly GpuJsModeRequest[];

/**
 * `auto` takes gpujs only where gpu.js reaches GL (headless-gl with a display): in its webasm
 * and cpu modes gpu.js is far slower than the float64 cpu backend (see `pnpm bench`).
 * gpu.js is loaded only when it may be used.
 */
export async function resolveBackend(request: BackendRequest, environment?: GpuJsEnvironment): Promise<ComputeBackendName> {
  if (request !== "auto") return request;
  const { headlessGlAvailable } = await import("@gradcheck/compute/gpujs");
  return headlessGlAvailable(environment) ? "gpujs" : "cpu";
}

export interface ScreenOptions {
  /** gpu.js mode; auto by default */
  readonly gpujsMode?: GpuJsModeRequest;
  /** seeds the float64 sample of the screen's passes */
  readonly seed: number;
  readonly sample?: ScreenSample;
}

/** The backend or gpu.js mode asked for cannot run here (a setting to change, not a bug). */
export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
}

/** A gpu.js float32 screen over `input`, confirmed in float64 by `confirm`; close() releases gpu.js. */
export async function openScreenedBackend(
  input: Pick<MlpCheckInput, "spec" | "theta" | "batch" | "analytic" | "precision">,
  confirm: CpuBackend,
  options: ScreenOptions,
): Promise<{ readonly backend: ScreenedBackend; close(): Promise<void> }> {
  const { GpuJsBackend } = await import("@gradcheck/compute/gpujs");
  let screen: InstanceType<typeof GpuJsBackend>;
  try {
    screen = new GpuJsBackend(input.spec, input.theta, input.batch, { mode: options.gpujsMode ?? "auto" });
  } catch (error) {
    throw new BackendUnavailableError(error instanceof Error ? error.message : String(error));
  }
  const backend = new ScreenedBackend(screen, confirm, {
    layout: parameterLayout(input.spec),
    analytic: input.analytic,
    precision: input.precision,
    seed: options.seed,
    sample: options.sample,
  });
  return { backend, close: () => screen.destroy() };
}
