export * from "./layout.js";
export * from "./finite-difference.js";
export * from "./metrics.js";
export * from "./precision.js";
export * from "./random.js";
export * from "./verdict.js";
export * from "./diagnosis.js";
