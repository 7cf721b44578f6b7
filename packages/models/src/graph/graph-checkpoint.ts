import { closest } from "fastest-levenshtein";
import { CheckpointMismatchError } from "../checkpoint-tensors.js";
import type { CompiledGraph } from "./graph-spec.js";
import { formatShape, type Shape } from "./layer.js";

/** A tensor of the checkpoint as its header describes it. */
export interface StoredTensor {
  readonly shape: Shape;
  readonly dtype: string;
}

/** What a checkpoint holds for a version 2 network, once its names and shapes are checked. */
export interface GraphCheckpointContents {
  readonly batchSize: number;
  /** tensors the network does not use (PyTorch's num_batches_tracked counters are not listed) */
  readonly unused: readonly string[];
}

/** The gradient of a parameter in a checkpoint: its `.grad` under the parameter's name. */
export const graphGradientName = (name: string): string => `grad.${name}`;

const isInteger = (dtype: string) => /^[IU]\d+$/.test(dtype);

/**
 * Checks a checkpoint's tensors against a version 2 network: every parameter and buffer
 * under its state_dict name with the spec's shape, each parameter's `grad.` tensor, and X
 * and Y with examples first. Errors name the tensor and, where one is close, the name or the
 * orientation meant.
 */
export function matchCheckpointToGraph(graph: CompiledGraph, tensors: ReadonlyMap<string, StoredTensor>, label: string): GraphCheckpointContents {
  const names = [...tensors.keys()];
  const wanted = new Set([...graph.parameters.flatMap((p) => [p.name, graphGradientName(p.name)]), ...graph.buffers.map((b) => b.name), "X", "Y"]);
  // the nearest name is looked for among those the spec does not ask for: a misnamed tensor is one of them
  const strangers = names.filter((name) => !wanted.has(name));
  const find = (name: string, what: string): StoredTensor => {
    const tensor = tensors.get(name);
    if (tensor) return tensor;
    const versionOne = names.some((candidate) => /^d?[Wb]\d+$/.test(candidate));
    const hint = versionOne
      ? "; it holds version 1 names (W1, b1, …): a version 2 spec reads the state_dict's names"
      : strangers.length
        ? `; the nearest it has is "${closest(name, strangers)}"`
        : "";
    throw new CheckpointMismatchError(`${label}: ${what} "${name}" is missing${hint}`);
  };
  const expectShape = (name: string, tensor: StoredTensor, shape: Shape, owner: string) => {
    if (formatShape(tensor.shape) !== formatShape(shape)) {
      throw new CheckpointMismatchError(`${label}: tensor "${name}" has shape ${formatShape(tensor.shape)}; ${owner} makes it ${formatShape(shape)}`);
    }
  };
  for (const parameter of graph.parameters) {
    const owner = `the spec's layer "${parameter.layer}"`;
    const stored = find(parameter.name, "tensor");
    expectShape(parameter.name, stored, parameter.shape, owner);
    if (isInteger(stored.dtype)) throw new CheckpointMismatchError(`${label}: tensor "${parameter.name}" holds ${stored.dtype} values; parameters are floating point`);
    expectShape(graphGradientName(parameter.name), find(graphGradientName(parameter.name), "gradient"), parameter.shape, owner);
  }
  for (const buffer of graph.buffers) expectShape(buffer.name, find(buffer.name, "buffer"), buffer.shape, `the spec's layer "${buffer.layer}"`);

  const x = find("X", "the batch's inputs");
  const y = find("Y", "the batch's targets");
  const batchSize = x.shape[0] ?? 0;
  const input = graph.spec.input;
  const perExample = formatShape(input.shape);
  if (formatShape(x.shape.slice(1)) !== perExample || x.shape.length === 0) {
    const reversed = x.shape.length === input.shape.length + 1 && formatShape(x.shape.slice(0, -1)) === perExample;
    throw new CheckpointMismatchError(
      `${label}: X has shape ${formatShape(x.shape)}; the spec takes [m, ${input.shape.join(", ")}], examples along the first dimension${reversed ? ": this X has them along the last, so transpose it" : ""}`,
    );
  }
  if (input.dtype === "index" && !isInteger(x.dtype)) {
    throw new CheckpointMismatchError(`${label}: X holds ${x.dtype} values, but the spec's input is token ids (dtype "index"): store them as I64 or I32`);
  }
  if (input.dtype === "float" && isInteger(x.dtype)) {
    throw new CheckpointMismatchError(`${label}: X holds ${x.dtype} values, but the spec's input is features: say "dtype": "index" (and begin with an embedding) if they are token ids`);
  }
  const loss = graph.spec.loss;
  const ids = loss.type === "cross-entropy" && (loss.target ?? "index") === "index";
  const targetShape = [batchSize, ...graph.target];
  if (y.shape[0] !== batchSize) throw new CheckpointMismatchError(`${label}: Y holds ${y.shape[0] ?? 0} examples and X ${batchSize}; the first dimension of each is m`);
  if (ids && formatShape(y.shape) === formatShape([batchSize, ...graph.output])) {
    throw new CheckpointMismatchError(`${label}: Y is shaped like the output ${formatShape(y.shape)}, one-hot or probabilities, but the loss takes class ids ("target": "index"): say "target": "one-hot" or "probabilities", or store the ids`);
  }
  if (!ids && loss.type === "cross-entropy" && formatShape(y.shape) === formatShape([batchSize, ...graph.output.slice(0, -1)])) {
    throw new CheckpointMismatchError(`${label}: Y holds class ids ${formatShape(y.shape)}, but the loss takes "target": "${loss.target}": say "target": "index", or store one-hot targets`);
  }
  if (formatShape(y.shape) !== formatShape(targetShape)) throw new CheckpointMismatchError(`${label}: Y has shape ${formatShape(y.shape)}; the spec's loss takes ${formatShape(targetShape)}`);
  if (ids && !isInteger(y.dtype)) throw new CheckpointMismatchError(`${label}: Y holds ${y.dtype} values, but class ids are integers: store them as I64 or I32`);
  const unused = strangers.filter((name) => !name.endsWith(".num_batches_tracked"));
  return { batchSize, unused };
}
