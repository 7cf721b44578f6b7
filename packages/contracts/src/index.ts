export * from "./report.js";
export * from "./api-keys.js";
export * from "./cluster.js";
export * from "./audits.js";
