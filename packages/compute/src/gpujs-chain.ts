import type { GPU, IKernelRunShortcut, KernelFunction, KernelOutput, Texture } from "gpu.js";
import type { DeviceModel } from "./gpujs-device-model.js";
import {
  ACTIVATION_CODE,
  activationKernel,
  affineKernel,
  KERNEL_HELPERS,
  kinkKernel,
  lossKernel,
  spreadKernel,
  unitActivationKernel,
  unitKinkKernel,
  unitLossKernel,
} from "./gpujs-kernels.js";
import { ranIn } from "./gpujs-mode.js";

/** Per-example results of one block, [m][lanes]. */
export interface BlockResult {
  /** loss_i(θ + s_r·e) − loss_i(θ) */
  readonly losses: Float32Array[];
  /** 1 where a ReLU pre-activation crossed 0; absent when no ReLU layer is reached */
  readonly kinks?: Float32Array[];
}

/** The kernels of one hidden layer q above the perturbed one. */
interface LayerKernels {
  readonly layer: number;
  readonly kink?: IKernelRunShortcut;
  readonly activation: IKernelRunShortcut;
  /** ΔZ_{q+1} from ΔA_q */
  readonly affine: IKernelRunShortcut;
}

/** The kernels for a perturbed hidden layer: its unit, the layers above, the loss. */
interface HiddenKernels {
  readonly unitKink?: IKernelRunShortcut;
  readonly unitActivation: IKernelRunShortcut;
  readonly spread: IKernelRunShortcut;
  readonly above: readonly LayerKernels[];
  readonly loss: IKernelRunShortcut;
  /** kink flags to start from when the perturbed layer is not ReLU but one above is */
  readonly noKinks?: Float32Array[];
}

// gpu.js's typings give each kernel its own `this`; the chain only builds and calls them
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyKernel = KernelFunction<any, any>;

/**
 * The kernels that carry a perturbation of layer `layer` up to the loss, for blocks of
 * `lanes` signed steps: the perturbed unit's ΔA, ΔZ of the layer above (spread), then per
 * hidden layer its kink flags, ΔA and the next ΔZ (affine), then the loss change. When
 * the perturbed layer is the output layer, one kernel gives the loss change directly.
 * Intermediates are pipelined, so on a GL backend they stay on the device as textures;
 * only the losses and the kink flags come back.
 */
export class PerturbationChain {
  private readonly kernels: IKernelRunShortcut[] = [];
  private readonly unitLoss?: IKernelRunShortcut;
  private readonly hidden?: HiddenKernels;
  private verified = false;

  constructor(
    private readonly gpu: GPU,
    private readonly model: DeviceModel,
    readonly layer: number,
    readonly lanes: number,
  ) {
    const { sizes, activations, examples } = model;
    const layers = sizes.length - 1;
    const perLane = [lanes, examples];
    const perUnit = (q: number) => [lanes, examples, sizes[q]];
    const headConstants = { head: model.head, outputs: sizes[layers] };
    if (layer === layers) {
      this.unitLoss = this.kernel(unitLossKernel, perLane, headConstants, false);
      return;
    }
    const activation = activations[layer - 1];
    const unitKink = activation === ACTIVATION_CODE.relu ? this.kernel(unitKinkKernel, perLane, { activation }, true) : undefined;
    const unitActivation = this.kernel(unitActivationKernel, perLane, { activation }, true);
    const spread = this.kernel(spreadKernel, perUnit(layer + 1), {}, true);
    const above: LayerKernels[] = [];
    for (let q = layer + 1; q < layers; q++) {
      const constants = { activation: activations[q - 1], units: sizes[q] };
      above.push({
        layer: q,
        kink: constants.activation === ACTIVATION_CODE.relu ? this.kernel(kinkKernel, perLane, constants, true) : undefined,
        activation: this.kernel(activationKernel, perUnit(q), constants, true),
        affine: this.kernel(affineKernel, perUnit(q + 1), constants, true),
      });
    }
    const loss = this.kernel(lossKernel, perLane, headConstants, false);
    const noKinks =
      !unitKink && above.some((kernels) => kernels.kink) ? Array.from({ length: examples }, () => new Float32Array(lanes)) : undefined;
    this.hidden = { unitKink, unitActivation, spread, above, loss, noKinks };
  }

  /** Loss changes and kink flags for one block: lane r moves the coordinate (unit[r], input[r]) by step[r]. */
  run(unit: Float32Array, input: Float32Array, step: Float32Array): BlockResult {
    const { model, layer } = this;
    const result = this.hidden
      ? this.propagate(this.hidden, unit, input, step)
      : { losses: rows(this.unitLoss!(model.cache, model.targets, model.inputs[layer], unit, input, step)) };
    this.verify();
    return result;
  }

  private propagate(kernels: HiddenKernels, unit: Float32Array, input: Float32Array, step: Float32Array): BlockResult {
    const { model, layer } = this;
    const unitArguments = [model.preActivations[layer], model.inputs[layer], unit, input, step] as const;
    let kinks: KernelOutput = kernels.unitKink ? kernels.unitKink(...unitArguments) : kernels.noKinks;
    let change = kernels.spread(kernels.unitActivation(...unitArguments), model.weights[layer + 1], unit);
    for (const { layer: q, kink, activation, affine } of kernels.above) {
      const z = model.preActivations[q];
      if (kink) kinks = kink(kinks, z, change);
      change = affine(model.weights[q + 1], activation(z, change));
    }
    return { losses: rows(kernels.loss(model.cache, model.targets, change)), kinks: kinks ? rows(kinks) : undefined };
  }

  private kernel(source: AnyKernel, output: number[], constants: object, pipeline: boolean): IKernelRunShortcut {
    const kernel = this.gpu.createKernel(source, { output, constants, pipeline, functions: KERNEL_HELPERS });
    this.kernels.push(kernel);
    return kernel;
  }

  /** gpu.js degrades a kernel it cannot build to its cpu backend; say so rather than mislabel results. */
  private verify(): void {
    if (this.verified) return;
    for (const kernel of this.kernels) {
      if (!ranIn(kernel, this.model.mode)) {
        const reason = (kernel.kernel as { fallbackReason?: string }).fallbackReason ?? "unknown";
        throw new Error(`gpujs backend: a kernel for layer ${this.layer} fell back from ${this.model.mode} (${reason})`);
      }
    }
    this.verified = true;
  }
}

/** A [m][lanes] result as rows, reading a texture back where the backend pipelined it. */
function rows(output: KernelOutput): Float32Array[] {
  const texture = output as Texture;
  return (typeof texture.toArray === "function" ? texture.toArray() : output) as Float32Array[];
}
