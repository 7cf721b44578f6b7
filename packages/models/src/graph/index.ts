export { compileGraph, type CompiledGraph, type CompiledLayer, type GraphSpec, type GraphTensor } from "./graph-spec.js";
export { bindGraph, checkGraphBatch, gradientThrough, graphCost, graphGradient, type GraphBatch } from "./graph-network.js";
export { GraphSpecError, type BoundLayer, type Forwarded, type LayerKind, type Shape } from "./layer.js";
export { LAYER_KINDS, LAYER_TYPES } from "./layer-kinds.js";
export { GraphInputError } from "./layers/embedding.js";
export { LOSS_TYPES, type LossSpec } from "./losses.js";
export { graphGradientName, matchCheckpointToGraph, type GraphCheckpointContents, type StoredTensor } from "./graph-checkpoint.js";
export { GraphPerturbedCosts } from "./graph-perturbed-costs.js";
export { graphRoundingStudy, emulatedGraphGradient } from "./graph-rounding-study.js";
