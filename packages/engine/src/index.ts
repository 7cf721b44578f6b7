export * from "./check-input.js";
export * from "./plan.js";
export * from "./shard.js";
export * from "./aggregate.js";
export * from "./report.js";
export * from "./determinism.js";
export * from "./thread-job.js";
export * from "./run-check.js";
