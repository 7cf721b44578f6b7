import { closest, distance } from "fastest-levenshtein";
import { z } from "zod";
import { isPrintableName } from "../printable-name.js";
import { formatShape, GraphSpecError, sizeOf, type LayerKind, type Shape } from "./layer.js";
import { LAYER_TYPES, layerKind } from "./layer-kinds.js";
import { lossSpec, targetShape, type LossSpec } from "./losses.js";

const graphSpecSchema = z.strictObject({
  name: z.string().trim().min(1).max(200).refine(isPrintableName, "must be printable text without / or \\"),
  input: z.strictObject({
    /** per example: [features], [channels, height, width], or [positions] of token ids */
    shape: z.array(z.number().int().positive().max(10_000_000)).min(1).max(8),
    dtype: z.enum(["float", "index"]).default("float"),
    /** token ids are below this (dtype "index") */
    vocab: z.number().int().positive().max(10_000_000).optional(),
  }),
  layers: z.array(z.unknown()).min(1).max(1_000),
  loss: lossSpec,
  /** λ of λ/(2m)·Σ‖weight‖² over the weights of linear, conv2d and attention layers (not PyTorch's weight_decay) */
  l2: z.number().finite().nonnegative().default(0),
});
export type GraphSpec = z.infer<typeof graphSpecSchema>;

/** A parameter or buffer of the network, under its state_dict name, at its place in θ (or in the buffers). */
export interface GraphTensor {
  readonly name: string;
  readonly shape: Shape;
  readonly offset: number;
  readonly size: number;
  readonly decays: boolean;
  /** the layer it belongs to: its name (`blocks.0.attn`) */
  readonly layer: string;
}

export interface CompiledLayer {
  readonly kind: LayerKind;
  readonly spec: { readonly type: string; readonly name?: string };
  readonly path: string;
  readonly input: Shape;
  readonly output: Shape;
  readonly parameters: readonly GraphTensor[];
  readonly buffers: readonly GraphTensor[];
  readonly children: readonly CompiledLayer[];
}

/** A version 2 model spec, checked and laid out: θ is every parameter flattened, in state_dict order. */
export interface CompiledGraph {
  readonly spec: GraphSpec;
  readonly layers: readonly CompiledLayer[];
  readonly parameters: readonly GraphTensor[];
  readonly buffers: readonly GraphTensor[];
  readonly parameterCount: number;
  readonly bufferCount: number;
  readonly output: Shape;
  /** Y per example */
  readonly target: Shape;
}

/** Checks a parsed version 2 spec and lays out its tensors; errors name the label, the field and a likely fix. */
export function compileGraph(input: unknown, label = "model"): CompiledGraph {
  const spec = parseWith(graphSpecSchema, input, label, "", V1_HINTS);
  const builder = new LayoutBuilder();
  let shape: Shape = spec.input.shape;
  const layers = spec.layers.map((raw, index) => {
    const layer = compileLayer(raw, `layers[${index}]`, shape, spec.input.dtype === "index" && index === 0, builder, label);
    shape = layer.output;
    return layer;
  });
  if (spec.input.dtype === "index") {
    const first = layers[0];
    if (!first.kind.takesIds) throw new GraphSpecError(`${label}: layers[0]: token ids (input dtype "index") must go into an embedding first, not ${first.spec.type}`);
    const rows = first.parameters[0].shape[0];
    if (spec.input.vocab !== undefined && rows < spec.input.vocab) {
      throw new GraphSpecError(`${label}: layers[0].vocab: the embedding has ${rows} rows, fewer than the input's vocab ${spec.input.vocab}`);
    }
  }
  const target = wrap(label, () => targetShape(spec.loss, shape, "loss"));
  return {
    spec,
    layers,
    parameters: builder.parameters,
    buffers: builder.buffers,
    parameterCount: builder.parameterCount,
    bufferCount: builder.bufferCount,
    output: shape,
    target,
  };
}

function compileLayer(raw: unknown, path: string, input: Shape, takesIds: boolean, builder: LayoutBuilder, label: string): CompiledLayer {
  const type = (raw as { type?: unknown } | null)?.type;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new GraphSpecError(`${label}: ${path}: a layer is an object with a "type"`);
  if (typeof type !== "string") throw new GraphSpecError(`${label}: ${path}.type: required, one of ${LAYER_TYPES.join(", ")}`);
  const kind = layerKind(type);
  if (!kind) throw new GraphSpecError(`${label}: ${path}.type: unknown layer type "${type}"${suggestion(type, LAYER_TYPES)} (one of ${LAYER_TYPES.join(", ")})`);
  if (kind.takesIds && !takesIds) throw new GraphSpecError(`${label}: ${path}: ${type} takes token ids, so it must be the first layer of a spec whose input dtype is "index"`);
  const spec = parseWith(kind.schema, raw, label, path, {}) as CompiledLayer["spec"];
  const output = wrap(label, () => kind.outputShape(spec, input, path));
  const name = spec.name ?? "";
  const parameters = kind.parameters(spec, input).map((slot) => builder.parameter(name, slot, path, label));
  const buffers = (kind.buffers?.(spec, input) ?? []).map((slot) => builder.buffer(name, slot));
  let shape = input;
  const children = (kind.children?.(spec) ?? []).map((child, index) => {
    const compiled = compileLayer(child, `${path}.layers[${index}]`, shape, false, builder, label);
    shape = compiled.output;
    return compiled;
  });
  if (kind.children && formatShape(shape) !== formatShape(input)) {
    throw new GraphSpecError(`${label}: ${path} (residual): the wrapped layers turn ${formatShape(input)} into ${formatShape(shape)}; x + f(x) needs the same shape`);
  }
  return { kind, spec, path, input, output, parameters, buffers, children };
}

class LayoutBuilder {
  readonly parameters: GraphTensor[] = [];
  readonly buffers: GraphTensor[] = [];
  parameterCount = 0;
  bufferCount = 0;
  private readonly owners = new Map<string, string>();

  parameter(layer: string, slot: { suffix: string; shape: Shape; decays?: boolean }, path: string, label: string): GraphTensor {
    const name = `${layer}.${slot.suffix}`;
    const owner = this.owners.get(layer);
    if (owner !== undefined && owner !== path) throw new GraphSpecError(`${label}: ${path}.name: "${layer}" is already the name of ${owner}`);
    this.owners.set(layer, path);
    const tensor = { name, shape: slot.shape, offset: this.parameterCount, size: sizeOf(slot.shape), decays: slot.decays === true, layer };
    this.parameterCount += tensor.size;
    this.parameters.push(tensor);
    return tensor;
  }

  buffer(layer: string, slot: { suffix: string; shape: Shape }): GraphTensor {
    const tensor = { name: `${layer}.${slot.suffix}`, shape: slot.shape, offset: this.bufferCount, size: sizeOf(slot.shape), decays: false, layer };
    this.bufferCount += tensor.size;
    this.buffers.push(tensor);
    return tensor;
  }
}

/** Fields of a version 1 spec, and what a version 2 spec says instead. */
const V1_HINTS: Readonly<Record<string, string>> = {
  inputSize: 'a version 2 spec gives "input": {"shape": [features]} instead of inputSize',
  keepProb: 'a version 2 spec puts {"type": "dropout", "p": 0.1} among its layers instead of keepProb',
};

function parseWith<T>(schema: z.ZodType<T>, input: unknown, label: string, path: string, hints: Readonly<Record<string, string>>): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  // a misspelt field is the likelier story than the missing one it leaves behind
  const issue = result.error.issues.find((candidate) => candidate.code === "unrecognized_keys") ?? result.error.issues[0];
  const at = [path, ...issue.path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))].join("").replace(/^\./, "");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0];
    const known = knownKeys(schema);
    const hint = hints[key] ? `; ${hints[key]}` : suggestion(key, known);
    throw new GraphSpecError(`${label}: ${at || "(root)"}: unknown field "${key}"${hint}`);
  }
  const missing = issue.code === "invalid_type" && issue.input === undefined;
  throw new GraphSpecError(`${label}: ${at || "(root)"}: ${missing ? "required" : issue.message}`);
}

function knownKeys(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

/** `; did you mean "x"?` when one candidate is close enough to be a typo. */
function suggestion(word: string, candidates: readonly string[]): string {
  if (candidates.length === 0) return "";
  const best = closest(word, [...candidates]);
  return distance(word.toLowerCase(), best.toLowerCase()) <= Math.max(2, Math.floor(best.length / 3)) ? `; did you mean "${best}"?` : "";
}

function wrap<T>(label: string, compute: () => T): T {
  try {
    return compute();
  } catch (error) {
    if (error instanceof GraphSpecError) throw new GraphSpecError(`${label}: ${error.message}`);
    throw error;
  }
}

export type { LossSpec };
