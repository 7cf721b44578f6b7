export * from "./backend.js";
export * from "./cpu-backend.js";
