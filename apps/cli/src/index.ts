export { main } from "./program.js";
export { loadCheckFiles, readModelSpec } from "./load-check-files.js";
export { renderReport } from "./render.js";
