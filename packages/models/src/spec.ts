import { z } from "zod";

import { HIDDEN_ACTIVATIONS, LOSSES, type Loss, type ModelSpec, type OutputActivation } from "./architecture.js";
import { compileGraph, type CompiledGraph } from "./graph/graph-spec.js";
import { isPrintableName } from "./printable-name.js";

export { isPrintableName } from "./printable-name.js";
import { GraphSpecError } from "./graph/layer.js";

export {
  HIDDEN_ACTIVATIONS,
  LOSSES,
  OUTPUT_ACTIVATIONS,
  layerSizes,
  type Activation,
  type HiddenActivation,
  type LayerSpec,
  type Loss,
  type ModelSpec,
  type OutputActivation,
} from "./architecture.js";

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
  // A name appears in URLs, file names and the database: printable, well-formed text only.
  name: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .refine(isPrintableName, "must be printable text without / or \\"),
  inputSize: z.number().int().positive().max(10_000_000),
  layers: z.array(layerSchema).min(1).max(100),
  loss: z.enum(LOSSES),
  l2: z.number().finite().nonnegative().default(0),
  keepProb: z.number().gt(0).lte(1).default(1),
});

// The schema must produce exactly the ModelSpec the rest of the code is written against.
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesModelSpec: Equal<z.infer<typeof modelSpecSchema>, ModelSpec> = true;
void schemaMatchesModelSpec;

export class ModelSpecError extends Error {
  override name = "ModelSpecError";
}

/** Whether a parsed spec is written in version 2's form (an `input` object, typed layers). */
export function isGraphSpec(input: unknown): boolean {
  if (typeof input !== "object" || input === null) return false;
  const { input: shape, layers } = input as { input?: unknown; layers?: unknown };
  return (typeof shape === "object" && shape !== null) || (Array.isArray(layers) && typeof (layers[0] as { type?: unknown } | undefined)?.type === "string");
}

/** A validated spec of either version: an MLP (version 1) or a compiled network (version 2). */
export type CheckSpec = { readonly version: 1; readonly spec: ModelSpec } | { readonly version: 2; readonly graph: CompiledGraph };

/** Validates a parsed spec of either version; errors name the file label and the field. */
export function parseCheckSpec(input: unknown, label = "model"): CheckSpec {
  if (!isGraphSpec(input)) return { version: 1, spec: parseModelSpec(input, label) };
  try {
    return { version: 2, graph: compileGraph(input, label) };
  } catch (error) {
    if (error instanceof GraphSpecError) throw new ModelSpecError(error.message);
    throw error;
  }
}

/** The spec's JSON as checks record it, defaults filled in. */
export const checkSpecJson = (spec: CheckSpec): ModelSpec | CompiledGraph["spec"] => (spec.version === 1 ? spec.spec : spec.graph.spec);

/** Validates a parsed version 1 (MLP) spec; errors name the file label and the field. */
export function parseModelSpec(input: unknown, label = "model"): ModelSpec {
  if (isGraphSpec(input)) {
    // A version 2 spec is checked as one, so that its own mistakes are named first.
    parseCheckSpec(input, label);
    throw new ModelSpecError(
      `${label}: this is a version 2 spec (an "input" object and typed layers), where a version 1 MLP spec ("inputSize", layers of "units" and "activation") is needed`,
    );
  }
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
