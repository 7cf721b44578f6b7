import { z } from "zod";

export const HIDDEN_ACTIVATIONS = ["relu", "tanh", "sigmoid", "linear"] as const;
export const OUTPUT_ACTIVATIONS = ["softmax", "sigmoid", "linear"] as const;
export const LOSSES = ["cross-entropy", "mse"] as const;

export type HiddenActivation = (typeof HIDDEN_ACTIVATIONS)[number];
export type OutputActivation = (typeof OUTPUT_ACTIVATIONS)[number];
export type Activation = HiddenActivation | OutputActivation;
export type Loss = (typeof LOSSES)[number];

/** Output activations each loss accepts. */
const OUTPUTS_FOR_LOSS: Readonly<Record<Loss, readonly OutputActivation[]>> = {
  "cross-entropy": ["softmax", "sigmoid"],
  mse: ["linear"],
};

const layerSchema = z.strictObject({
  units: z.number().int().positive().max(1_000_000),
  activation: z.enum([...HIDDEN_ACTIVATIONS, "softmax"]),
});

const modelSpecSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  inputSize: z.number().int().positive().max(10_000_000),
  layers: z.array(layerSchema).min(1).max(100),
  loss: z.enum(LOSSES),
  l2: z.number().finite().nonnegative().default(0),
  keepProb: z.number().gt(0).lte(1).default(1),
});

export type LayerSpec = z.infer<typeof layerSchema>;
export type ModelSpec = z.infer<typeof modelSpecSchema>;

export class ModelSpecError extends Error {
  override name = "ModelSpecError";
}

/** Validates a parsed model spec; errors name the file label and the field. */
export function parseModelSpec(input: unknown, label = "model"): ModelSpec {
  const result = modelSpecSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ModelSpecError(`${label}: ${fieldPath(issue.path)}: ${issue.message}`);
  }
  const spec = result.data;
  const last = spec.layers.length - 1;
  spec.layers.forEach((layer, index) => {
    if (index < last && layer.activation === "softmax") {
      throw new ModelSpecError(
        `${label}: layers[${index}].activation: softmax is only allowed on the output layer; hidden layers take ${HIDDEN_ACTIVATIONS.join(", ")}`,
      );
    }
  });
  const output = spec.layers[last].activation;
  const allowed = OUTPUTS_FOR_LOSS[spec.loss];
  if (!(allowed as readonly string[]).includes(output)) {
    throw new ModelSpecError(
      `${label}: layers[${last}].activation: output activation "${output}" does not go with loss "${spec.loss}"; use ${allowed.join(" or ")}`,
    );
  }
  return spec;
}

function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(root)";
  return path
    .map((key, position) => (typeof key === "number" ? `[${key}]` : `${position === 0 ? "" : "."}${String(key)}`))
    .join("");
}

/** Units per layer including the input: [n0, n1, ..., nL]. */
export function layerSizes(spec: ModelSpec): number[] {
  return [spec.inputSize, ...spec.layers.map((layer) => layer.units)];
}
