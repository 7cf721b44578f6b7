import { writeSafetensors, type FloatDtype } from "@gradcheck/checkpoint";
import { checkpointTensors, type Batch, type Gradients, type ModelSpec } from "@gradcheck/models";

export interface CheckpointFileOptions {
  /** dtype of θ and dθ; X and Y keep float64 */
  readonly dtype?: FloatDtype;
  readonly step?: number;
}

/** Writes θ, dθ, X and Y as a gradcheck checkpoint (safetensors), atomically: what loadCheckInput reads. */
export async function writeCheckpointFile(
  path: string,
  spec: ModelSpec,
  theta: Float64Array,
  gradients: Gradients,
  batch: Batch,
  options: CheckpointFileOptions = {},
): Promise<void> {
  const dtype = options.dtype ?? "F64";
  const tensors = checkpointTensors(spec, theta, gradients, batch).map((tensor) => ({
    ...tensor,
    dtype: tensor.name === "X" || tensor.name === "Y" ? ("F64" as const) : dtype,
  }));
  const metadata: Record<string, string> = { format: "gradcheck/1", model: spec.name };
  if (options.step !== undefined) metadata.step = String(options.step);
  await writeSafetensors(path, tensors, metadata);
}
