import { createStream, roundingTo, UNIT_ROUNDOFF, type Precision, type TensorMeasurement } from "@gradcheck/core";
import { gemm, gemmFloat32 } from "@gradcheck/kernels";
import { activate, activationDerivative } from "./activations.js";
import { headFor } from "./heads.js";
import { transpose } from "./perturbed-costs.js";
import { networkFromTheta, type Batch, type Network } from "./network.js";
import { parameterLayout } from "./parameters.js";
import type { HiddenActivation } from "./architecture.js";

/**
 * What a correct backprop gets wrong through rounding alone, studied on the probe batch: a
 * float64 backprop that also propagates magnitudes, bounding how large each coordinate's
 * rounding error can be, and passes in an emulated arithmetic (every operation rounded, sums
 * in the opposite order). All write dθ-shaped vectors in θ's layout (W1, b1, W2, b2, ...).
 */

/** How an emulated implementation takes its sums: the reference's order, or the opposite one. */
export type SumOrder = "natural" | "reversed";

/**
 * The gradient as an implementation in another arithmetic computes it: the forward pass,
 * the loss gradient and the backward pass with `round` applied after every multiply and
 * add. With `reversed`, every sum runs from its last term to its first, so that even with
 * round = identity its float64 rounding differs from the reference backprop's: that is how
 * float64's own rounding is sampled. Sums run over contiguous (transposed) rows, and the
 * roundings of float64 and float32 are recognised and inlined: the study stays a small share
 * of a check.
 */
export function emulatedGradient(network: Network, batch: Batch, round: (value: number) => number, order: SumOrder = "reversed"): Float64Array {
  return inThetaLayout(network, emulatedGradientLayers(network, batch, round, order));
}

/** One layer's gradient from a backprop that yields a layer at a time, the last first; its arrays may be reused for the next layer. */
export interface LayerGradient {
  /** 0 for W1 and b1 */
  readonly layer: number;
  readonly weights: Float64Array;
  readonly biases: Float64Array;
}

/** emulatedGradient a layer at a time, the last layer first: only a layer's gradient is held at once. */
export function* emulatedGradientLayers(network: Network, batch: Batch, round: (value: number) => number, order: SumOrder = "reversed"): Generator<LayerGradient> {
  // float32, last term first, is what the float32 kernel computes (the start of each sum joins last)
  if (round === Math.fround && order === "reversed") {
    yield* float32KernelGradientLayers(network, batch);
    return;
  }
  const float64 = roundingTo("F64");
  const mode = round === float64 ? 0 : round === Math.fround ? 1 : 2;
  const r = (value: number) => (mode === 0 ? value : mode === 1 ? Math.fround(value) : round(value));
  // Σ_t r(x[xo + t]·y[yo + t]) over t < length, in the chosen order, every step rounded
  const reversed = order === "reversed";
  const dot = (x: Float64Array, xo: number, y: Float64Array, yo: number, length: number, start: number) => {
    let sum = start;
    if (reversed) for (let t = length - 1; t >= 0; t--) sum = r(sum + r(x[xo + t] * y[yo + t]));
    else for (let t = 0; t < length; t++) sum = r(sum + r(x[xo + t] * y[yo + t]));
    return sum;
  };
  const { sizes } = network;
  const m = batch.size;
  const layers = network.weights.length;
  const weights = network.weights.map((w) => w.map(r));
  const activations: Float64Array[] = [batch.inputs.map(r)];
  const preActivations: Float64Array[] = [];
  for (let l = 1; l <= layers; l++) {
    const nIn = sizes[l - 1];
    const n = sizes[l];
    const inputs = activations[l - 1];
    const w = weights[l - 1];
    const b = network.biases[l - 1];
    const z = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) z[i * n + j] = dot(inputs, i * nIn, w, j * nIn, nIn, r(b[j]));
    preActivations.push(z);
    if (l < layers) {
      const activation = network.activations[l - 1] as HiddenActivation;
      activations.push(z.map((value) => r(activate(activation, value))));
    }
  }

  let dz = outputGradient(network, batch, preActivations[layers - 1], r);

  const lambdaOverM = r(network.spec.l2 / m);
  const ones = new Float64Array(m).fill(1);
  for (let l = layers; l >= 1; l--) {
    const nIn = sizes[l - 1];
    const n = sizes[l];
    const w = weights[l - 1];
    const gradientT = transpose(dz, m, n);
    const inputsT = transpose(activations[l - 1], m, nIn);
    const dW = new Float64Array(n * nIn);
    const db = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      db[j] = dot(gradientT, j * m, ones, 0, m, 0);
      for (let k = 0; k < nIn; k++) {
        const sum = dot(gradientT, j * m, inputsT, k * m, m, 0);
        dW[j * nIn + k] = lambdaOverM === 0 ? sum : r(sum + r(lambdaOverM * w[j * nIn + k]));
      }
    }
    yield { layer: l - 1, weights: dW, biases: db };
    if (l === 1) break;

    const activation = network.activations[l - 2] as HiddenActivation;
    const z = preActivations[l - 2];
    const a = activations[l - 1];
    const wT = transpose(w, n, nIn);
    const previous = new Float64Array(m * nIn);
    for (let i = 0; i < m; i++) {
      for (let k = 0; k < nIn; k++) {
        const index = i * nIn + k;
        const sum = dot(dz, i * n, wT, k * n, n, 0);
        previous[index] = r(sum * r(activationDerivative(activation, z[index], a[index])));
      }
    }
    dz = previous;
  }
}

/**
 * emulatedGradient in float32 with reversed sums, its products as float32 matrix products
 * (gemmFloat32: every multiply and add rounded, each sum one term at a time from its last),
 * at the kernel's speed.
 */
function* float32KernelGradientLayers(network: Network, batch: Batch): Generator<LayerGradient> {
  const r = Math.fround;
  const { sizes } = network;
  const m = batch.size;
  const layers = network.weights.length;
  const activations: Float64Array[] = [batch.inputs.map(r)];
  const preActivations: Float64Array[] = [];
  for (let l = 1; l <= layers; l++) {
    const n = sizes[l];
    const bias = network.biases[l - 1].map(r);
    const z = new Float64Array(m * n);
    for (let i = 0; i < m; i++) z.set(bias, i * n);
    gemmFloat32({ m, n, k: sizes[l - 1], a: activations[l - 1], b: network.weights[l - 1], transposeB: true, c: z, accumulate: true });
    preActivations.push(z);
    if (l < layers) {
      const activation = network.activations[l - 1] as HiddenActivation;
      activations.push(z.map((value) => r(activate(activation, value))));
    }
  }

  let dz = outputGradient(network, batch, preActivations[layers - 1], r);

  const lambdaOverM = r(network.spec.l2 / m);
  // one layer's arrays, reused (see boundedBackpropLayers)
  const weightScratch = new Scratch(1, Math.max(...network.weights.map((w) => w.length)));
  const biasScratch = new Scratch(1, Math.max(...network.biases.map((b) => b.length)));
  for (let l = layers; l >= 1; l--) {
    const nIn = sizes[l - 1];
    const n = sizes[l];
    const w = network.weights[l - 1];
    const [dW] = weightScratch.zeroed(n * nIn);
    const [db] = biasScratch.zeroed(n);
    gemmFloat32({ m: n, n: nIn, k: m, a: dz, transposeA: true, b: activations[l - 1], c: dW });
    if (lambdaOverM !== 0) for (let index = 0; index < dW.length; index++) dW[index] = r(dW[index] + r(lambdaOverM * r(w[index])));
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) db[j] = r(db[j] + dz[i * n + j]);
    yield { layer: l - 1, weights: dW, biases: db };
    if (l === 1) break;

    const activation = network.activations[l - 2] as HiddenActivation;
    const z = preActivations[l - 2];
    const a = activations[l - 1];
    const sums = new Float64Array(m * nIn);
    gemmFloat32({ m, n: nIn, k: n, a: dz, b: w, c: sums });
    for (let index = 0; index < sums.length; index++) sums[index] = r(sums[index] * r(activationDerivative(activation, z[index], a[index])));
    dz = sums;
  }
}

/** dZ_L = ∂loss/∂z / m, each value rounded, then divided and rounded again. */
function outputGradient(network: Network, batch: Batch, outputs: Float64Array, r: (value: number) => number): Float64Array {
  const head = headFor(network.spec);
  const m = batch.size;
  const nOut = network.sizes[network.sizes.length - 1];
  const dz = new Float64Array(m * nOut);
  const row = new Float64Array(nOut);
  for (let i = 0; i < m; i++) {
    head.lossGradient(outputs, batch.targets, i * nOut, nOut, row);
    for (let k = 0; k < nOut; k++) dz[i * nOut + k] = r(r(row[k]) / m);
  }
  return dz;
}

/** What a correct backprop in one arithmetic gets wrong on this model and batch, per coordinate of dθ. */
export interface RoundingStudy {
  /** the arithmetic studied */
  readonly precision: Precision;
  /** the float64 backprop (boundedBackprop's values) */
  readonly reference: Float64Array;
  /** |emulated − reference|, the largest over the runs */
  readonly deviation: Float64Array;
  /** boundedBackprop's first-order bound on each coordinate's error, in units of u */
  readonly scales: Float64Array;
  /** boundedBackprop's bound on what ReLUs the arithmetic may switch change, absolute */
  readonly switches: Float64Array;
  /** emulated backprops run (none in F64) */
  readonly runs: number;
}

/** Below this many parameters, more runs are made, so that the tail of the errors is seen. */
const STUDY_SAMPLES = 1 << 14;
const MAX_STUDY_RUNS = 8;

/**
 * Runs the float64 backprop with its rounding bounds, and emulated backprops in `precision`:
 * the first with plain round-to-nearest, any further ones (small models, up to
 * MAX_STUDY_RUNS) with every operation's input nudged by a seeded relative amount below u
 * before rounding, so that each run rounds differently and the study sees more than one draw
 * of every coordinate's error. In F64 none is run: float64's own rounding is covered by the
 * bound u·s_i with which the float64 numerical side is allowed for anyway (see
 * coordinateTolerance), and it sits far below the numerical side's truncation error, so an
 * emulation would only cost time.
 */
export function studyRounding(network: Network, batch: Batch, precision: Precision): RoundingStudy {
  const { runs, tensors } = streamRoundingStudy(network, batch, precision);
  const { total, tensors: slots } = parameterLayout(network.spec);
  const [reference, deviation, scales, switches] = [0, 1, 2, 3].map(() => new Float64Array(total));
  for (const part of tensors) {
    const { offset } = slots[part.tensor];
    reference.set(part.reference, offset);
    deviation.set(part.deviation, offset);
    scales.set(part.scales, offset);
    switches.set(part.switches, offset);
  }
  return { precision, reference, deviation, scales, switches, runs };
}

/**
 * studyRounding a tensor at a time, the last layer's first: the bounded backprop and every
 * emulated run go down the layers together, so that only one layer's gradients are held at
 * once, and each tensor's figures can go as soon as the tolerance has seen them (core's
 * streamedRoundingTolerance). Every value is the one studyRounding gives.
 */
export function streamRoundingStudy(network: Network, batch: Batch, precision: Precision): { readonly runs: number; readonly tensors: Generator<TensorMeasurement> } {
  const total = parameterLayout(network.spec).total;
  const runs = precision === "F64" ? 0 : Math.min(MAX_STUDY_RUNS, Math.max(1, Math.ceil(STUDY_SAMPLES / total)));
  return { runs, tensors: measuredTensors(network, batch, precision, runs) };
}

function* measuredTensors(network: Network, batch: Batch, precision: Precision, runs: number): Generator<TensorMeasurement> {
  const u = UNIT_ROUNDOFF[precision];
  const round = roundingTo(precision);
  const emulations = Array.from({ length: runs }, (_, run) => {
    const random = createStream(run, 0x726f756e);
    const nudged = run === 0 ? round : (value: number) => round(value * (1 + u * (2 * random() - 1)));
    return emulatedGradientLayers(network, batch, nudged);
  });
  for (const bounded of boundedBackpropLayers(network, batch, u)) {
    const emulated = emulations.map((emulation) => emulation.next().value as LayerGradient);
    for (const kind of ["weights", "biases"] as const) {
      const { gradient: reference, scales, switches } = bounded[kind];
      // the first run's gradient becomes the deviation in place: one array fewer at the peak
      let deviation: Float64Array = new Float64Array(runs === 0 ? reference.length : 0);
      emulated.forEach((run, index) => {
        const values = run[kind];
        if (index === 0) {
          for (let i = 0; i < reference.length; i++) values[i] = Math.abs(values[i] - reference[i]);
          deviation = values;
        } else for (let i = 0; i < reference.length; i++) deviation[i] = Math.max(deviation[i], Math.abs(values[i] - reference[i]));
      });
      yield { tensor: 2 * bounded.layer + (kind === "weights" ? 0 : 1), reference, deviation, scales, switches };
    }
  }
}

/**
 * A float64 backprop that also bounds, to first order and in units of the unit roundoff u,
 * each coordinate's rounding error in a backprop whose every operation rounds once (and,
 * apart, what ReLUs that u can switch may change): magnitudes |·| propagated through the
 * same products as the values, with each product's own rounding and the error it inherits
 * from its factors. It grows where a coordinate is a small sum of large terms (cancellation)
 * and shrinks with the terms, so it separates coordinates that no float32 backprop can
 * resolve from those it resolves to a few u. It leaves out the length factors of long sums,
 * which the measured calibration supplies.
 */
export function boundedBackprop(network: Network, batch: Batch, unitRoundoff: number): BoundedGradient {
  const total = parameterLayout(network.spec).total;
  const [gradient, scales, switches] = [0, 1, 2].map(() => new Float64Array(total));
  // per-layer views of each, in θ's layout
  const [valueParts, scaleParts, switchParts] = [gradient, scales, switches].map((vector) => networkFromTheta(network.spec, vector));
  for (const { layer, weights, biases } of boundedBackpropLayers(network, batch, unitRoundoff)) {
    valueParts.weights[layer].set(weights.gradient);
    valueParts.biases[layer].set(biases.gradient);
    scaleParts.weights[layer].set(weights.scales);
    scaleParts.biases[layer].set(biases.scales);
    switchParts.weights[layer].set(weights.switches);
    switchParts.biases[layer].set(biases.switches);
  }
  return { gradient, scales, switches };
}

/** One tensor's part of boundedBackprop's results. */
export interface BoundedTensor {
  readonly gradient: Float64Array;
  readonly scales: Float64Array;
  readonly switches: Float64Array;
}

/** boundedBackprop a layer at a time, the last layer first. */
export function* boundedBackpropLayers(network: Network, batch: Batch, unitRoundoff: number): Generator<{ readonly layer: number; readonly weights: BoundedTensor; readonly biases: BoundedTensor }> {
  const { sizes } = network;
  const m = batch.size;
  const layers = network.weights.length;
  const activations: Float64Array[] = [batch.inputs];
  const activationErrors: Float64Array[] = [new Float64Array(batch.inputs.length)];
  const preActivations: Float64Array[] = [];
  const preActivationErrors: Float64Array[] = [];
  /** per hidden layer: 1 where a ReLU's pre-activation lies within rounding of its kink, so the arithmetic may switch it */
  const switchable: Uint8Array[] = [];
  for (let l = 1; l <= layers; l++) {
    const nIn = sizes[l - 1];
    const n = sizes[l];
    const inputs = activations[l - 1];
    const inputErrors = activationErrors[l - 1];
    const w = network.weights[l - 1];
    const b = network.biases[l - 1];
    // z = A·Wᵀ + b and its bound (|A| + E_A)·|W|ᵀ + |b|, as matrix products
    const z = new Float64Array(m * n);
    const errors = new Float64Array(m * n);
    const absoluteBias = b.map(Math.abs);
    for (let i = 0; i < m; i++) {
      z.set(b, i * n);
      errors.set(absoluteBias, i * n);
    }
    gemm({ m, n, k: nIn, a: inputs, b: w, transposeB: true, c: z, accumulate: true });
    const magnitudes = inputs.map((x, index) => Math.abs(x) + inputErrors[index]);
    gemm({ m, n, k: nIn, a: magnitudes, b: w, transposeB: true, absoluteB: true, c: errors, accumulate: true });
    preActivations.push(z);
    preActivationErrors.push(errors);
    if (l < layers) {
      const activation = network.activations[l - 1] as HiddenActivation;
      const a = z.map((value) => activate(activation, value));
      const near = new Uint8Array(m * n);
      if (activation === "relu") z.forEach((value, index) => (near[index] = Math.abs(value) <= SWITCH_MARGIN * unitRoundoff * errors[index] ? 1 : 0));
      activations.push(a);
      // A switchable unit's activation may also be its rounded pre-activation instead of 0 (or the reverse).
      activationErrors.push(
        errors.map((error, index) => Math.abs(activationDerivative(activation, z[index], a[index])) * error + Math.abs(a[index]) + (near[index] ? (1 + SWITCH_MARGIN) * error : 0)),
      );
      switchable.push(near);
    }
  }

  const { dz, errors: outputErrors } = outputGradientBounds(network, batch, preActivations[layers - 1], preActivationErrors[layers - 1]);
  let gradient = dz;
  let gradientErrors = outputErrors;
  // How much the gradient may change, absolutely, because the arithmetic switched ReLUs near their kinks.
  let gradientSwitches = new Float64Array(gradient.length);
  const lambdaOverM = network.spec.l2 / m;
  // Every layer's results go into the same arrays, sized for the largest layer: arrays
  // allocated afresh for each layer outran the garbage collector, and the study's peak held
  // two layers' worth. The consumer reads a layer before asking for the next.
  const weightScratch = new Scratch(3, Math.max(...network.weights.map((w) => w.length)));
  const biasScratch = new Scratch(3, Math.max(...network.biases.map((b) => b.length)));
  for (let l = layers; l >= 1; l--) {
    const nIn = sizes[l - 1];
    const n = sizes[l];
    const w = network.weights[l - 1];
    const inputs = activations[l - 1];
    const inputErrors = activationErrors[l - 1];
    const bounded = gradient.map((g, index) => gradientErrors[index] + Math.abs(g));
    // Most layers have no ReLU near its kink at all (in F64, practically none): their switch sums are skipped.
    const anySwitch = gradientSwitches.some((value) => value > 0);
    // dW = Gᵀ·A + λ/m·W; its bound (E_G + |G|)ᵀ·|A| + |G|ᵀ·E_A + λ/m·|W|; switches Sᵀ·|A|
    const [dW, dWBound, dWSwitches] = weightScratch.zeroed(n * nIn);
    const [db, dbBound, dbSwitches] = biasScratch.zeroed(n);
    for (let index = 0; index < w.length; index++) {
      dW[index] = lambdaOverM * w[index];
      dWBound[index] = lambdaOverM * Math.abs(w[index]);
    }
    gemm({ m: n, n: nIn, k: m, a: gradient, transposeA: true, b: inputs, c: dW, accumulate: true });
    gemm({ m: n, n: nIn, k: m, a: bounded, transposeA: true, b: inputs, absoluteB: true, c: dWBound, accumulate: true });
    gemm({ m: n, n: nIn, k: m, a: gradient, transposeA: true, absoluteA: true, b: inputErrors, c: dWBound, accumulate: true });
    if (anySwitch) gemm({ m: n, n: nIn, k: m, a: gradientSwitches, transposeA: true, b: inputs, absoluteB: true, c: dWSwitches });
    addColumnSums(gradient, m, n, db);
    addColumnSums(bounded, m, n, dbBound);
    addColumnSums(gradientSwitches, m, n, dbSwitches);
    yield { layer: l - 1, weights: { gradient: dW, scales: dWBound, switches: dWSwitches }, biases: { gradient: db, scales: dbBound, switches: dbSwitches } };
    if (l === 1) break;

    const activation = network.activations[l - 2] as HiddenActivation;
    const z = preActivations[l - 2];
    const a = activations[l - 1];
    const aErrors = activationErrors[l - 1];
    const near = switchable[l - 2];
    // G·W, its bound (E_G + |G|)·|W| and the switches' S·|W|, as matrix products
    const sums = new Float64Array(m * nIn);
    gemm({ m, n: nIn, k: n, a: gradient, b: w, c: sums });
    const bounds = new Float64Array(m * nIn);
    gemm({ m, n: nIn, k: n, a: bounded, b: w, absoluteB: true, c: bounds });
    const switchBounds = new Float64Array(m * nIn);
    if (anySwitch) gemm({ m, n: nIn, k: n, a: gradientSwitches, b: w, absoluteB: true, c: switchBounds });
    const previous = new Float64Array(m * nIn);
    const previousErrors = new Float64Array(m * nIn);
    const previousSwitches = new Float64Array(m * nIn);
    for (let index = 0; index < m * nIn; index++) {
      const sum = sums[index];
      const bound = bounds[index];
      const switchBound = switchBounds[index];
      const derivative = activationDerivative(activation, z[index], a[index]);
      // A switchable ReLU passes its whole incoming gradient, or none of it.
      previousSwitches[index] = near[index] ? switchBound + Math.abs(sum) + unitRoundoff * bound : Math.abs(derivative) * switchBound;
      previous[index] = sum * derivative;
      // act' is computed from a (1 − a², a·(1 − a)), so a's error, its own rounding included, moves it
      previousErrors[index] =
        bound * Math.abs(derivative) + Math.abs(sum) * (Math.abs(derivative) + Math.abs(derivativeSlope(activation, a[index])) * aErrors[index]);
    }
    gradient = previous;
    gradientErrors = previousErrors;
    gradientSwitches = previousSwitches;
  }
}

/** A ReLU whose pre-activation lies within this many rounding bounds of its kink may be switched by the arithmetic. */
const SWITCH_MARGIN = 2;

/** boundedBackprop's results, in θ's layout. */
export interface BoundedGradient {
  /** the float64 gradient */
  readonly gradient: Float64Array;
  /** first-order bound on each coordinate's rounding error, in units of u */
  readonly scales: Float64Array;
  /**
   * bound on how much each coordinate may change, absolutely, because the arithmetic puts a
   * ReLU whose pre-activation is within rounding of 0 on its other side: not a rounding error
   * but a different (and as correct) linear region
   */
  readonly switches: Float64Array;
}

/** dZ_L = ∂loss/∂z / m and the bound on its rounding error, for each head. */
function outputGradientBounds(network: Network, batch: Batch, z: Float64Array, zErrors: Float64Array): { dz: Float64Array; errors: Float64Array } {
  const m = batch.size;
  const n = network.sizes[network.sizes.length - 1];
  const head = headFor(network.spec);
  const dz = new Float64Array(m * n);
  const errors = new Float64Array(m * n);
  const row = new Float64Array(n);
  const y = batch.targets;
  const output = network.spec.layers[network.spec.layers.length - 1].activation;
  for (let i = 0; i < m; i++) {
    const offset = i * n;
    head.lossGradient(z, y, offset, n, row);
    let targetSum = 0;
    for (let k = 0; k < n; k++) targetSum += Math.abs(y[offset + k]);
    // p: softmax, σ or the identity; ∂loss/∂z is p·Σy − y (softmax), p − y (σ) or 2(z − y)/n.
    const p = row.map((value, k) => {
      if (output === "linear") return z[offset + k];
      if (output === "sigmoid") return value + y[offset + k];
      return targetSum === 0 ? 0 : (value + y[offset + k]) / targetSum;
    });
    let spread = 0;
    for (let k = 0; k < n; k++) spread += Math.abs(p[k]) * zErrors[offset + k];
    for (let k = 0; k < n; k++) {
      const e = zErrors[offset + k];
      let bound: number;
      if (output === "softmax") bound = (Math.abs(p[k]) * (1 + e + spread)) * targetSum + Math.abs(y[offset + k]);
      else if (output === "sigmoid") bound = Math.abs(p[k]) * (1 + Math.abs(1 - p[k]) * e) + Math.abs(y[offset + k]);
      else bound = (2 / n) * (Math.abs(z[offset + k]) + Math.abs(y[offset + k]) + e);
      dz[offset + k] = row[k] / m;
      errors[offset + k] = (bound + Math.abs(row[k])) / m;
    }
  }
  return { dz, errors };
}

/** d act'/da, with act' written in a = act(z) as backprop computes it; zero for the piecewise-linear activations. */
function derivativeSlope(activation: HiddenActivation, a: number): number {
  switch (activation) {
    case "tanh":
      return -2 * a;
    case "sigmoid":
      return 1 - 2 * a;
    default:
      return 0;
  }
}

/** out[j] += Σ_i X[i, j] for a row-major X [rows, columns]. */
function addColumnSums(values: Float64Array, rows: number, columns: number, out: Float64Array): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < columns; j++) out[j] += values[i * columns + j];
}

/** A few arrays reused from layer to layer, each `capacity` long; views of the length asked for. */
class Scratch {
  private readonly arrays: Float64Array[];

  constructor(count: number, capacity: number) {
    this.arrays = Array.from({ length: count }, () => new Float64Array(capacity));
  }

  /** each array's first `length` values, set to 0 */
  zeroed(length: number): Float64Array[] {
    return this.arrays.map((array) => array.subarray(0, length).fill(0));
  }
}

/** A backprop's layers, as they come, gathered into one gradient in θ's layout. */
function inThetaLayout(network: Network, layers: Iterable<LayerGradient>): Float64Array {
  const gradient = new Float64Array(parameterLayout(network.spec).total);
  const parts = networkFromTheta(network.spec, gradient);
  for (const { layer, weights, biases } of layers) {
    parts.weights[layer].set(weights);
    parts.biases[layer].set(biases);
  }
  return gradient;
}
