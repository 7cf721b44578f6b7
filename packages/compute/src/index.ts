export * from "./backend.js";
export * from "./cpu-backend.js";
export * from "./graph-backend.js";
