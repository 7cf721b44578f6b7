// The gpu.js backend, apart from the package's root so that CPU-only code (worker threads)
// does not load it or its dependencies: import "@gradcheck/compute/gpujs".
export * from "./gpujs-backend.js";
export {
  availableGpuJsModes,
  GPUJS_MODES,
  gpuJsModeWorks,
  headlessGlAvailable,
  resolveGpuJsMode,
  type GpuJsEnvironment, type GpuJsMode, type GpuJsModeRequest } from "./gpujs-mode.js";
