export { main } from "./program.js";
export { loadCheckFiles, readModelSpec } from "./load-check-files.js";
export { writeCheckpointFile, type CheckpointFileOptions } from "./checkpoint-file.js";
export { renderReport } from "./render.js";
