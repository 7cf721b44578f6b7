export { main } from "./program.js";
export { loadCheckInput } from "./load-check-input.js";
export { writeCheckpointFile, type CheckpointFileOptions } from "./checkpoint-file.js";
export { renderReport } from "./render.js";
