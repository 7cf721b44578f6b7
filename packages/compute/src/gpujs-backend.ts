import {
  centralDifference,
  coordinateAt,
  CoordinateStatus,
  realizedSteps,
  richardson,
  stepSize,
  type Layout,
  type RealizedSteps,
} from "@gradcheck/core";
import { parameterLayout, type Batch, type ModelSpec, type SparseDirection } from "@gradcheck/models/evaluator";
import type { GPU } from "gpu.js";
import type { DifferenceOptions, Derivatives, PerturbedCostBackend } from "./backend.js";
import { PerturbationChain } from "./gpujs-chain.js";
import { uploadModel, type DeviceModel } from "./gpujs-device-model.js";
import {
  availableGpuJsModes,
  gpuJsModeWorks,
  loadGpuJs,
  resolveGpuJsMode,
  type GpuJsEnvironment,
  type GpuJsMode,
  type GpuJsModeRequest,
} from "./gpujs-mode.js";

export interface GpuJsBackendOptions {
  /** gpu.js mode; `auto` picks headlessgl, else webasm, else cpu (see resolveGpuJsMode) */
  readonly mode?: GpuJsModeRequest;
  /** what `auto` looks at; the process's own by default */
  readonly environment?: GpuJsEnvironment;
  /** largest kernel output, in float32 cells: bounds memory, and so the coordinates per block */
  readonly maxCellsPerKernel?: number;
}

/**
 * GL wants few, large dispatches (16 MiB intermediates: 512 coordinates of a 784-128-64-10
 * model × 64 examples); webasm and cpu run cells one after another and were ~20% faster
 * with blocks that stay in cache (1 MiB: 32 such coordinates).
 */
const DEFAULT_MAX_CELLS: Readonly<Record<GpuJsMode, number>> = { headlessgl: 2 ** 22, webasm: 2 ** 18, cpu: 2 ** 18 };

/** A coordinate as the kernels address it: which unit of which layer, through which input. */
interface Target {
  readonly layer: number;
  readonly unit: number;
  /** column of A_{l−1}; n_{l−1} (the column of ones) for a bias */
  readonly input: number;
  readonly isWeight: boolean;
}

/**
 * Central differences in float32 with gpu.js, through the same incremental scheme as the
 * CPU evaluator: the float64 forward pass is uploaded once, and each (coordinate, example)
 * recomputes only the perturbed unit, the layers above it and its loss change. Per-example
 * changes come back in float32 and are summed on the CPU in float64 (see reduce).
 * directionalDerivatives is not implemented on gpujs yet: it throws.
 */
export class GpuJsBackend implements PerturbedCostBackend {
  readonly name = "gpujs";
  readonly precision = "float32" as const;
  readonly mode: GpuJsMode;
  readonly cost: number;

  private readonly layout: Layout;
  private readonly model: DeviceModel;
  private readonly gpu: GPU;
  private readonly maxCells: number;
  private readonly chains = new Map<string, PerturbationChain>();

  constructor(
    private readonly spec: ModelSpec,
    private readonly theta: Float64Array,
    batch: Batch,
    options: GpuJsBackendOptions = {},
  ) {
    const request = options.mode ?? "auto";
    this.mode = resolveGpuJsMode(request, options.environment);
    if (request !== "auto" && !gpuJsModeWorks(this.mode)) {
      throw new Error(`gpujs backend: gpu.js mode "${this.mode}" does not work here; available: ${availableGpuJsModes().join(", ")}`);
    }
    this.maxCells = options.maxCellsPerKernel ?? DEFAULT_MAX_CELLS[this.mode];
    this.layout = parameterLayout(spec);
    const { model, cost } = uploadModel(spec, theta, batch, this.mode);
    this.model = model;
    this.cost = cost;
    this.gpu = new (loadGpuJs().GPU)({ mode: this.mode });
  }

  centralDifferences(indices: Int32Array, options: DifferenceOptions, onProgress?: (done: number) => void): Derivatives {
    const numeric = new Float64Array(indices.length);
    const status = new Uint8Array(indices.length);
    const targets = Array.from(indices, (index) => this.target(index));
    const byLayer = new Map<number, number[]>();
    targets.forEach((target, position) => {
      const positions = byLayer.get(target.layer);
      if (positions) positions.push(position);
      else byLayer.set(target.layer, [position]);
    });
    let done = 0;
    for (const [layer, positions] of byLayer) {
      const perBlock = this.coordinatesPerBlock(layer);
      for (let start = 0; start < positions.length; start += perBlock) {
        const block = positions.slice(start, start + perBlock);
        const estimate = (scale: number) => this.estimate(layer, block.map((p) => ({ index: indices[p], target: targets[p] })), options, scale);
        const full = estimate(1);
        const half = options.richardson ? estimate(0.5) : undefined;
        block.forEach((position, c) => {
          numeric[position] = half ? richardson(full.values[c], half.values[c]) : full.values[c];
          status[position] = full.kinks[c] || half?.kinks[c] ? CoordinateStatus.kink : CoordinateStatus.checked;
        });
        done += block.length;
        onProgress?.(done);
      }
    }
    return { numeric, status };
  }

  directionalDerivatives(_directions: Iterable<SparseDirection>, _step: number): Derivatives {
    throw new Error("directionalDerivatives is not implemented on gpujs yet; use the cpu backend");
  }

  /** Releases gpu.js's kernels and, on headlessgl, its GL context. */
  destroy(): Promise<void> {
    return this.gpu.destroy();
  }

  private target(index: number): Target {
    const { tensorIndex, local } = coordinateAt(this.layout, index);
    const layer = (tensorIndex >> 1) + 1;
    const nIn = this.model.sizes[layer - 1];
    const isWeight = (tensorIndex & 1) === 0;
    return isWeight
      ? { layer, unit: Math.floor(local / nIn), input: local % nIn, isWeight }
      : { layer, unit: local, input: nIn, isWeight };
  }

  /**
   * Coordinates of one layer per kernel run: a power of two, so that few block sizes
   * (and compiled kernels) ever exist, with every output within maxCells.
   */
  private coordinatesPerBlock(layer: number): number {
    const { sizes, examples } = this.model;
    const widest = Math.max(1, ...sizes.slice(layer + 1));
    return Math.max(1, 2 ** Math.floor(Math.log2(this.maxCells / (2 * examples * widest))));
  }

  /**
   * One kernel run for a block of coordinates of `layer` at steps scale·h: lane c moves
   * coordinate c by +h₊, lane width + c by −h₋; lanes past the block move nothing.
   */
  private estimate(layer: number, block: { index: number; target: Target }[], options: DifferenceOptions, scale: number) {
    const width = Math.min(nextPowerOfTwo(block.length), this.coordinatesPerBlock(layer));
    const unit = new Float32Array(2 * width);
    const input = new Float32Array(2 * width);
    const step = new Float32Array(2 * width);
    // The kernels can only move θ by float32 steps: divide by the steps actually taken.
    const steps: RealizedSteps[] = block.map(({ index, target }, c) => {
      const realized = realizedSteps(this.theta[index], scale * stepSize(options.step, this.theta[index]));
      const plus = Math.fround(realized.plus);
      const minus = Math.fround(realized.minus);
      unit[c] = unit[width + c] = target.unit;
      input[c] = input[width + c] = target.input;
      step[c] = plus;
      step[width + c] = -minus;
      return { plus, minus };
    });
    const { losses, kinks } = this.chain(layer, 2 * width).run(unit, input, step);
    const m = this.model.examples;
    const scaleL2 = this.spec.l2 / (2 * m);
    const values = block.map(({ index, target }, c) => {
      const { plus, minus } = steps[c];
      // λ/(2m)·((w + s)² − w²) = λ/(2m)·s·(2w + s); biases are not regularized
      const w = this.theta[index];
      const l2 = (s: number) => (target.isWeight ? scaleL2 * s * (2 * w + s) : 0);
      return centralDifference(reduce(losses, c) / m + l2(plus), reduce(losses, width + c) / m + l2(-minus), steps[c]);
    });
    const crossed = block.map((_, c) => kinks !== undefined && (reduce(kinks, c) > 0 || reduce(kinks, width + c) > 0));
    return { values, kinks: crossed };
  }

  private chain(layer: number, lanes: number): PerturbationChain {
    const key = `${layer}:${lanes}`;
    let chain = this.chains.get(key);
    if (!chain) {
      chain = new PerturbationChain(this.gpu, this.model, layer, lanes);
      this.chains.set(key, chain);
    }
    return chain;
  }
}

/**
 * Σ_i rows[i][lane] in float64 on the CPU: m additions per coordinate, next to the
 * O(m·n²) kernel work, and it keeps the sum free of float32 rounding that a device
 * reduction would add (the per-example changes already carry theirs).
 */
function reduce(rows: readonly Float32Array[], lane: number): number {
  let sum = 0;
  for (const row of rows) sum += row[lane];
  return sum;
}

function nextPowerOfTwo(value: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, value)));
}
