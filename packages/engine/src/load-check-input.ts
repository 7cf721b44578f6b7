import { CheckpointError, firstNonFinite, NonFiniteValueError, formatIndex, openSafetensors, type SafetensorsFile } from "@gradcheck/checkpoint";
import { lowestPrecision, type Precision } from "@gradcheck/core";
import { MAX_STEP, type Warning } from "@gradcheck/contracts";
import {
  gradientName,
  INPUTS_NAME,
  matchCheckpointToModel,
  parameterLayout,
  TARGETS_NAME,
  type ModelSpec,
} from "@gradcheck/models";
import type { MlpCheckInput } from "./check-input.js";

/**
 * Reads a safetensors checkpoint, validates it against the model (names, shapes, finite
 * values, step) and builds the check input. Errors are CheckpointError or
 * CheckpointMismatchError and name the file, the tensor and the fault.
 */
export async function loadCheckInput(checkpointPath: string, spec: ModelSpec, label = checkpointPath): Promise<MlpCheckInput> {
  const file = await openSafetensors(checkpointPath, label);
  try {
    const shapes = new Map(file.header.tensors.map((tensor) => [tensor.name, tensor.shape]));
    const contents = matchCheckpointToModel(spec, shapes, label);
    const layout = parameterLayout(spec);
    const read = (name: string) => readFinite(file, name, label);
    // Each tensor goes straight to its place in θ and dθ, so that one tensor at a time is held
    // twice. θ lives in shared memory: worker threads read it without a copy of their own.
    const theta = new Float64Array(new SharedArrayBuffer(8 * layout.total));
    const analytic = new Float64Array(layout.total);
    for (const slot of layout.tensors) {
      theta.set(await read(slot.name), slot.offset);
      analytic.set(await read(gradientName(slot.name)), slot.offset);
    }
    const inputs = await read(INPUTS_NAME);
    const targets = await read(TARGETS_NAME);
    const precision = lowestPrecision(
      layout.tensors.flatMap((slot) => [slot.name, gradientName(slot.name)]).map((name) => file.info(name).dtype as Precision),
    );
    return {
      spec,
      theta,
      analytic,
      batch: { inputs, targets, size: contents.batchSize },
      precision,
      step: parseStep(file.header.metadata.step, label),
      loadWarnings: unusedTensorsWarnings(contents.unused),
    };
  } finally {
    await file.close();
  }
}

/** The warning for tensors a checkpoint holds that the model does not use. */
export function unusedTensorsWarnings(unused: readonly string[]): Warning[] {
  return unused.length ? [{ code: "unused-tensors", message: `The checkpoint holds tensors the model does not use: ${unused.join(", ")}.` }] : [];
}

/**
 * A tensor's values in float64, refused if any is NaN or infinite. `integers`: an id tensor
 * (I64, I32, …) rather than a floating-point one.
 */
export async function readFinite(file: SafetensorsFile, name: string, label: string, integers = false): Promise<Float64Array> {
  const values = integers ? await file.readIntegers(name) : await file.readFloat64(name);
  const bad = firstNonFinite(values);
  if (bad !== -1) {
    const index = formatIndex(file.info(name).shape, bad);
    throw new NonFiniteValueError(`${label}: tensor "${name}" has ${values[bad]} at ${index}; every value must be finite`, name, values[bad], index);
  }
  return values;
}

export function parseStep(value: string | undefined, label: string): number | null {
  if (value === undefined) return null;
  // the history stores steps as PostgreSQL integers
  if (!/^\d+$/.test(value.trim()) || Number(value) > MAX_STEP) {
    throw new CheckpointError(`${label}: __metadata__.step "${value}" is not a whole number from 0 to ${MAX_STEP}`);
  }
  return Number(value);
}
