// Entry point for worker threads: the incremental evaluator without the spec validation (and its zod import).
export * from "./architecture.js";
export * from "./perturbed-costs.js";
export * from "./directional-costs.js";
export * from "./parameters.js";
export type { Batch } from "./network.js";
