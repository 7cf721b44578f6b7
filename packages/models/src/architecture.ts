/** What a model is, without the validation that builds one (kept free of heavy imports for worker threads). */
export const HIDDEN_ACTIVATIONS = ["relu", "tanh", "sigmoid", "linear"] as const;
export const OUTPUT_ACTIVATIONS = ["softmax", "sigmoid", "linear"] as const;
export const LOSSES = ["cross-entropy", "mse"] as const;

export type HiddenActivation = (typeof HIDDEN_ACTIVATIONS)[number];
export type OutputActivation = (typeof OUTPUT_ACTIVATIONS)[number];
export type Activation = HiddenActivation | OutputActivation;
export type Loss = (typeof LOSSES)[number];

export interface LayerSpec {
  units: number;
  activation: HiddenActivation | "softmax";
}

/** A validated model spec; build one with parseModelSpec. */
export interface ModelSpec {
  name: string;
  inputSize: number;
  layers: LayerSpec[];
  loss: Loss;
  /** λ of the L2 term */
  l2: number;
  /** inverted-dropout keep probability of hidden layers */
  keepProb: number;
}

/** Units per layer including the input: [n0, n1, ..., nL]. */
export function layerSizes(spec: ModelSpec): number[] {
  return [spec.inputSize, ...spec.layers.map((layer) => layer.units)];
}
