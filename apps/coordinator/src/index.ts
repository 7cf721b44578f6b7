export { createApp } from "./app.js";
export { readConfig, type CoordinatorConfig } from "./config.js";
