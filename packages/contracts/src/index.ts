export * from "./report.js";
export * from "./api-keys.js";
