import { loadCheckInputOf, type CheckInput } from "@gradcheck/engine";
import { parseCheckSpec, type CheckSpec } from "@gradcheck/models";
import { readJsonFile } from "./files.js";

/** Reads and validates a model spec file of either version. */
export async function readModelSpec(modelPath: string): Promise<CheckSpec> {
  return parseCheckSpec(await readJsonFile(modelPath), modelPath);
}

/** Reads a model spec file and a checkpoint, validates one against the other, and builds the check input. */
export async function loadCheckFiles(checkpointPath: string, modelPath: string): Promise<CheckInput> {
  return loadCheckInputOf(checkpointPath, await readModelSpec(modelPath));
}
