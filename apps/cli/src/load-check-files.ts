import { loadCheckInput, type CheckInput } from "@gradcheck/engine";
import { parseModelSpec, type ModelSpec } from "@gradcheck/models";
import { readJsonFile } from "./files.js";

/** Reads and validates a model spec file. */
export async function readModelSpec(modelPath: string): Promise<ModelSpec> {
  return parseModelSpec(await readJsonFile(modelPath), modelPath);
}

/** Reads a model spec file and a checkpoint, validates one against the other, and builds the check input. */
export async function loadCheckFiles(checkpointPath: string, modelPath: string): Promise<CheckInput> {
  return loadCheckInput(checkpointPath, await readModelSpec(modelPath));
}
