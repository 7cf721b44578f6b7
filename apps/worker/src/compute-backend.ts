import { resolveBackend, type ComputeBackendName } from "@gradcheck/engine";
import { ConfigError, type WorkerConfig } from "./config.js";

/** What the worker's processors compute on, settled once at start-up. */
export interface WorkerBackend {
  readonly backend: ComputeBackendName;
  /** the gpu.js mode, for the gpujs backend */
  readonly gpujsMode: "headlessgl" | "webasm" | "cpu" | null;
}

/**
 * Resolves `auto` and checks that the gpu.js mode works here, so that a worker that cannot
 * compute what it was told to refuses to start, rather than fail every shard it takes.
 */
export async function resolveWorkerBackend(config: Pick<WorkerConfig, "backend" | "gpujsMode">): Promise<WorkerBackend> {
  const backend = await resolveBackend(config.backend);
  if (backend === "cpu") return { backend, gpujsMode: null };
  // auto picks the mode as GpuJsBackend itself does
  const { availableGpuJsModes, gpuJsModeWorks, resolveGpuJsMode } = await import("@gradcheck/compute/gpujs");
  const gpujsMode = resolveGpuJsMode(config.gpujsMode);
  if (!gpuJsModeWorks(gpujsMode)) {
    throw new ConfigError(`gpu.js mode "${gpujsMode}" does not work here; available: ${availableGpuJsModes().join(", ") || "none"}`);
  }
  return { backend, gpujsMode };
}
