import { multiIndex, type Layout, type TensorSlot } from "./layout.js";
import { lowerBound } from "./sorted.js";
import { CoordinateStatus } from "./metrics.js";
import type { Outlier } from "./tolerance.js";
import type { Verdict } from "./verdict.js";

export type DiagnosisCode = "dropout" | "regularization" | "scale" | "sign" | "transpose" | "permutation" | "layer" | "coordinates";

export interface Finding {
  readonly code: DiagnosisCode;
  readonly tensors: string[];
  readonly message: string;
  readonly evidence: Record<string, unknown>;
}

/** How each tensor of θ fits into the network, for the diagnoses that need it. */
export interface TensorRole {
  /** 1-based layer, in forward order among the layers with parameters */
  readonly layer: number;
  /** weight: what an l2 term counts; other: a gain, an embedding, a position table */
  readonly kind: "weight" | "bias" | "other";
  /** the spec's name of the layer (`blocks.0.attn`), where layers have names */
  readonly layerName?: string;
}

export interface DiagnosisInput {
  readonly layout: Layout;
  readonly numeric: Float64Array;
  readonly analytic: Float64Array;
  readonly status: Uint8Array;
  readonly theta: Float64Array;
  /** per tensor, in layout order */
  readonly verdicts: readonly Verdict[];
  readonly roles: readonly TensorRole[];
  readonly lambda: number;
  readonly batchSize: number;
  /** the model's dropout keep probability: below 1, dθ computed with dropout on is the first suspect */
  readonly keepProb: number;
  /** coordinates beyond their own tolerance, in any order */
  readonly outliers: readonly Outlier[];
  /** per tensor: whether its outliers were all found (none left unconfirmed, no localization stopped early) */
  readonly outliersComplete: readonly boolean[];
}

/** A fit is accepted when what it leaves unexplained is under this share of the residual. */
const FIT_TOLERANCE = 0.05;
/** ... and under this share of the disagreement without any fit: it must explain most of it. */
const FIT_EXPLAINS = 0.25;
/** A fit over fewer coordinates than this (in all the tensors it groups) means nothing: any error fits a scale of one number. */
const MIN_FIT_COORDINATES = 8;
/** "A few" coordinates: at most this many, and fewer than half of those checked. */
const FEW_COORDINATES = 10;
/** Fits that compare a tensor with a rearrangement of itself need it (almost) whole. */
const SHAPE_FIT_COVERAGE = 0.9;

/**
 * Names the likely bug behind a failing check from the shape of the disagreement between the
 * analytic gradient a and the numerical one n. Tensors that pass are never diagnosed, and
 * a check where every tensor passes gets no diagnosis at all.
 */
export function diagnose(input: DiagnosisInput): Finding[] {
  const failing = input.layout.tensors
    .map((slot, index) => ({ slot, index, role: input.roles[index] }))
    .filter(({ index }) => input.verdicts[index] === "fail");
  if (failing.length === 0) return [];

  const findings: Finding[] = [];
  const explained = new Set<string>();
  const claim = (finding: Finding) => {
    findings.push(finding);
    finding.tensors.forEach((name) => explained.add(name));
  };

  for (const tensor of failing) {
    const checked = checkedCount(input, tensor.slot);
    const end = tensor.slot.offset + tensor.slot.size;
    const wrong = input.outliers
      .filter((outlier) => outlier.flatIndex >= tensor.slot.offset && outlier.flatIndex < end)
      .sort((a, b) => b.excess - a.excess)
      .map((outlier) => outlier.flatIndex);
    if (wrong.length === 0 || wrong.length > FEW_COORDINATES || 2 * wrong.length >= checked) continue;
    if (!input.outliersComplete[tensor.index]) continue;
    const partial = checked < tensor.slot.size;
    const names = wrong.map((i) => `${tensor.slot.name}[${multiIndex(tensor.slot.shape, i - tensor.slot.offset).join(",")}]`);
    const count = wrong.length === 1 ? "one coordinate disagrees" : `${wrong.length} coordinates disagree`;
    claim({
      code: "coordinates",
      tensors: [tensor.slot.name],
      message:
        `Only ${count} in ${tensor.slot.name}${partial ? ` (of the ${checked} checked)` : ""}: ${names.join(", ")}. ` +
        `Look for an indexing slip or an in-place update that touches just ${wrong.length === 1 ? "that element" : "those elements"}.`,
      evidence: {
        coordinates: names,
        numeric: wrong.map((i) => input.numeric[i]),
        analytic: wrong.map((i) => input.analytic[i]),
        checked,
      },
    });
  }

  const open = () => failing.filter(({ slot }) => !explained.has(slot.name));

  if (input.lambda > 0) {
    const bySign = new Map<number, { names: string[]; coefficients: number[]; residuals: number[]; coordinates: number }>();
    for (const { slot, role } of open()) {
      if (role.kind !== "weight") continue;
      const fit = regularizationFit(input, slot);
      if (!fit) continue;
      const group = bySign.get(fit.sign) ?? { names: [], coefficients: [], residuals: [], coordinates: 0 };
      group.coordinates += checkedCount(input, slot);
      group.names.push(slot.name);
      group.coefficients.push(fit.coefficient);
      group.residuals.push(fit.residual);
      bySign.set(fit.sign, group);
    }
    for (const [sign, group] of bySign) {
      if (group.coordinates < MIN_FIT_COORDINATES) continue;
      claim({
        code: "regularization",
        tensors: group.names,
        message:
          sign < 0
            ? `In ${group.names.join(", ")} the analytic gradient lacks exactly (λ/m)·W: the L2 term was forgotten in backprop. Add (λ/m)·W to dW.`
            : `In ${group.names.join(", ")} the analytic gradient has (λ/m)·W twice: the L2 term was added twice (or its 1/2 dropped). Add it once.`,
        evidence: { coefficients: group.coefficients, fitResiduals: group.residuals, lambda: input.lambda, batchSize: input.batchSize },
      });
    }
  }

  const scaled = new Map<string, { factor: number; names: string[]; factors: number[]; residuals: number[]; coordinates: number }>();
  for (const { slot } of open()) {
    const fit = scaleFit(input, slot);
    if (!fit) continue;
    const key = groupKey(fit.factor, input.batchSize);
    const group = scaled.get(key) ?? { factor: fit.factor, names: [], factors: [], residuals: [], coordinates: 0 };
    group.coordinates += checkedCount(input, slot);
    group.names.push(slot.name);
    group.factors.push(fit.factor);
    group.residuals.push(fit.residual);
    scaled.set(key, group);
  }
  for (const group of scaled.values()) {
    if (group.coordinates < MIN_FIT_COORDINATES) continue;
    const c = group.factor;
    if (Math.abs(c + 1) < FIT_TOLERANCE) {
      claim({
        code: "sign",
        tensors: group.names,
        message: `${group.names.join(", ")}: the analytic gradient is the numerical one with its sign flipped (factor ${c.toFixed(3)}). Look for a subtraction written the wrong way round, e.g. y − ŷ instead of ŷ − y.`,
        evidence: { factors: group.factors, fitResiduals: group.residuals },
      });
    } else {
      claim({
        code: "scale",
        tensors: group.names,
        message: `${group.names.join(", ")}: the analytic gradient is ${formatFactor(c)} × the numerical one. ${scaleCause(c, input.batchSize)}`,
        evidence: { factors: group.factors, fitResiduals: group.residuals, batchSize: input.batchSize },
      });
    }
  }

  const whole = (slot: TensorSlot) => checkedCount(input, slot) >= SHAPE_FIT_COVERAGE * slot.size;
  for (const { slot, role } of open()) {
    if (role.kind !== "weight" || slot.shape.length !== 2 || slot.shape[0] !== slot.shape[1] || !whole(slot)) continue;
    const residual = transposeResidual(input, slot);
    if (residual < FIT_TOLERANCE && residual < FIT_EXPLAINS * unfittedResidual(input, slot)) {
      claim({
        code: "transpose",
        tensors: [slot.name],
        message: `${slot.name} is square and its analytic gradient is the transpose of the numerical one: dW was computed as Aᵀ·dZ instead of dZᵀ·A (or stored transposed).`,
        evidence: { fitResidual: residual },
      });
    }
  }

  for (const { slot } of open()) {
    if (slot.shape.length !== 2 || !whole(slot)) continue;
    const permutation = permutationFit(input, slot);
    if (permutation) {
      claim({
        code: "permutation",
        tensors: [slot.name],
        message: `The ${permutation.axis} of ${slot.name}'s analytic gradient are those of the numerical one, ${permutation.shift === null ? "permuted" : `shifted by ${permutation.shift}`}: an off-by-one or a mixed-up index when the gradient is assembled.`,
        evidence: { axis: permutation.axis, shift: permutation.shift, mapping: permutation.mapping.slice(0, 16) },
      });
    }
  }

  const layer = layerFinding(input, failing.map(({ slot }) => slot.name));
  if (layer) findings.push(layer);
  const dropout = dropoutFinding(input, open().map(({ slot }) => slot.name));
  return dropout ? [dropout, ...findings] : findings;
}

/**
 * With dropout in the model, a disagreement spread over several tensors that no exact fit
 * explains is what a dθ computed with dropout on looks like: random units of every example
 * were dropped, so every gradient they feed is off by an irregular amount.
 */
function dropoutFinding(input: DiagnosisInput, unexplained: string[]): Finding | undefined {
  if (input.keepProb >= 1 || unexplained.length < 2) return undefined;
  return {
    code: "dropout",
    tensors: unexplained,
    message:
      `The model uses dropout (keepProb ${input.keepProb}) and ${unexplained.join(", ")} disagree irregularly, as a dθ computed with dropout on does. ` +
      "gradcheck evaluates J with dropout off; compute dθ with keepProb = 1 (no masks) and check again.",
    evidence: { keepProb: input.keepProb, tensors: unexplained },
  };
}


function checkedCount(input: DiagnosisInput, slot: TensorSlot): number {
  let count = 0;
  forChecked(input, slot, () => count++);
  return count;
}

/** Least-squares c in a ≈ c·b over the checked coordinates, and the share of a it leaves unexplained. */
function fitMultiple(
  input: DiagnosisInput,
  slot: TensorSlot,
  a: (i: number) => number,
  b: (i: number) => number,
): { coefficient: number; residual: number } | undefined {
  let ab = 0;
  let bb = 0;
  let aa = 0;
  forChecked(input, slot, (i) => {
    ab += a(i) * b(i);
    bb += b(i) * b(i);
    aa += a(i) * a(i);
  });
  if (bb === 0 || aa === 0) return undefined;
  const coefficient = ab / bb;
  if (!Number.isFinite(coefficient)) return undefined;
  let rest = 0;
  forChecked(input, slot, (i) => (rest += (a(i) - coefficient * b(i)) ** 2));
  const residual = Math.sqrt(rest / aa);
  return Number.isFinite(residual) ? { coefficient, residual } : undefined;
}

function forChecked(input: DiagnosisInput, slot: TensorSlot, visit: (i: number) => void): void {
  for (let i = slot.offset; i < slot.offset + slot.size; i++) if (input.status[i] === CoordinateStatus.checked) visit(i);
}

/** a − n ≈ c·(λ/m)·W with c ≈ −1 (forgotten) or +1 (doubled). */
function regularizationFit(input: DiagnosisInput, slot: TensorSlot): { sign: number; coefficient: number; residual: number } | undefined {
  const scale = input.lambda / input.batchSize;
  const fit = fitMultiple(input, slot, (i) => input.analytic[i] - input.numeric[i], (i) => scale * input.theta[i]);
  if (!fit || fit.residual > FIT_TOLERANCE) return undefined;
  const sign = Math.round(fit.coefficient);
  if (Math.abs(sign) !== 1 || Math.abs(fit.coefficient - sign) > FIT_TOLERANCE) return undefined;
  return { sign, ...fit };
}

/** a ≈ c·n for one constant c other than 1, explaining most of the disagreement. */
function scaleFit(input: DiagnosisInput, slot: TensorSlot): { factor: number; residual: number } | undefined {
  const fit = fitMultiple(input, slot, (i) => input.analytic[i], (i) => input.numeric[i]);
  if (!fit || fit.residual > FIT_TOLERANCE || Math.abs(fit.coefficient - 1) < FIT_TOLERANCE / 5) return undefined;
  if (fit.residual > FIT_EXPLAINS * unfittedResidual(input, slot)) return undefined;
  return { factor: fit.coefficient, residual: fit.residual };
}

/** ‖a − n‖ / ‖a‖: what a fit must improve on. */
function unfittedResidual(input: DiagnosisInput, slot: TensorSlot): number {
  let rest = 0;
  let aa = 0;
  forChecked(input, slot, (i) => {
    rest += (input.analytic[i] - input.numeric[i]) ** 2;
    aa += input.analytic[i] ** 2;
  });
  return aa === 0 ? Infinity : Math.sqrt(rest / aa);
}

/** Tensors whose factors agree to 5% (or name the same cause) are reported together. */
function groupKey(factor: number, batchSize: number): string {
  const named = namedFactor(factor, batchSize);
  return named ? named.name : `~${Math.round(Math.log(Math.abs(factor)) / Math.log(1 + FIT_TOLERANCE))}${factor < 0 ? "-" : "+"}`;
}

function namedFactor(factor: number, m: number): { name: string; cause: string } | undefined {
  const near = (value: number) => Math.abs(factor / value - 1) < FIT_TOLERANCE;
  if (m > 2 && near(m)) return { name: "m", cause: `c ≈ m = ${m}: the 1/m averaging over the batch is missing.` };
  if (m > 2 && near(1 / m)) return { name: "1/m", cause: `c ≈ 1/m = 1/${m}: the gradient is divided by m once too often.` };
  if (near(2)) return { name: "2", cause: "c ≈ 2: a term counted twice, or the 1/2 of a squared loss dropped." };
  if (near(0.5)) return { name: "1/2", cause: "c ≈ 1/2: a factor 2 missing, e.g. the derivative of a square." };
  return undefined;
}

function scaleCause(factor: number, batchSize: number): string {
  return namedFactor(factor, batchSize)?.cause ?? "A constant factor is off: check learning-rate-like scalings, 1/m and factors of 2.";
}

function formatFactor(factor: number): string {
  return Math.abs(factor) >= 0.01 && Math.abs(factor) < 1000 ? factor.toPrecision(4) : factor.toExponential(3);
}

/** ‖a − nᵀ‖ / ‖a‖ for a square tensor. */
function transposeResidual(input: DiagnosisInput, slot: TensorSlot): number {
  const n = slot.shape[0];
  let rest = 0;
  let aa = 0;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const i = slot.offset + r * n + c;
      const t = slot.offset + c * n + r;
      if (input.status[i] !== CoordinateStatus.checked || input.status[t] !== CoordinateStatus.checked) continue;
      rest += (input.analytic[i] - input.numeric[t]) ** 2;
      aa += input.analytic[i] ** 2;
    }
  }
  return aa === 0 ? Infinity : Math.sqrt(rest / aa);
}

interface Permutation {
  readonly axis: "rows" | "columns";
  /** analytic slice i equals numerical slice mapping[i] */
  readonly mapping: number[];
  /** mapping[i] = (i + shift) mod size, when it is a cyclic shift */
  readonly shift: number | null;
}

/** Rows (or columns) of a that each match a distinct other row (column) of n. */
function permutationFit(input: DiagnosisInput, slot: TensorSlot): Permutation | undefined {
  const [rows, columns] = slot.shape;
  for (const axis of ["rows", "columns"] as const) {
    const count = axis === "rows" ? rows : columns;
    const length = axis === "rows" ? columns : rows;
    if (count < 2) continue;
    const at = (slice: number, position: number) =>
      slot.offset + (axis === "rows" ? slice * columns + position : position * columns + slice);
    const distance = (analyticSlice: number, numericSlice: number) => {
      let rest = 0;
      let norm = 0;
      for (let p = 0; p < length; p++) {
        rest += (input.analytic[at(analyticSlice, p)] - input.numeric[at(numericSlice, p)]) ** 2;
        norm += input.analytic[at(analyticSlice, p)] ** 2;
      }
      return norm === 0 ? Infinity : Math.sqrt(rest / norm);
    };
    // A match has about the same norm: only numerical slices whose norm is within the fit
    // tolerance are compared, so the search stays near linear in the tensor's size.
    const norm = (slice: number, values: Float64Array) => {
      let squares = 0;
      for (let p = 0; p < length; p++) squares += values[at(slice, p)] ** 2;
      return Math.sqrt(squares);
    };
    const byNorm = Array.from({ length: count }, (_, slice) => ({ slice, norm: norm(slice, input.numeric) })).sort((a, b) => a.norm - b.norm);
    const mapping: number[] = [];
    for (let slice = 0; slice < count; slice++) {
      const target = norm(slice, input.analytic);
      let best = -1;
      let bestDistance = FIT_TOLERANCE;
      for (let k = lowerBound(count, (position) => byNorm[position].norm < target * (1 - FIT_TOLERANCE)); k < count && byNorm[k].norm <= target * (1 + FIT_TOLERANCE); k++) {
        const d = distance(slice, byNorm[k].slice);
        if (d < bestDistance || (d === bestDistance && byNorm[k].slice < best)) [best, bestDistance] = [byNorm[k].slice, d];
      }
      if (best === -1) break;
      mapping.push(best);
    }
    if (mapping.length !== count || new Set(mapping).size !== count || mapping.every((target, slice) => target === slice)) continue;
    const shift = (mapping[0] - 0 + count) % count;
    const cyclic = mapping.every((target, slice) => target === (slice + shift) % count);
    return { axis, mapping, shift: cyclic ? shift : null };
  }
  return undefined;
}

/**
 * A wrong dZ_l (the activation derivative of layer l, or the step through it) spoils dW_l and
 * db_l and everything backprop derives from them below, and nothing above.
 */
function layerFinding(input: DiagnosisInput, failingNames: string[]): Finding | undefined {
  const failing = new Set(failingNames);
  const layers = Math.max(...input.roles.map((role) => role.layer));
  const layerOf = (name: string) => input.roles[input.layout.tensors.findIndex((slot) => slot.name === name)].layer;
  const top = Math.max(...failingNames.map(layerOf));
  if (top >= layers) return undefined;
  const fits = input.layout.tensors.every((slot, index) => failing.has(slot.name) === input.roles[index].layer <= top);
  if (!fits) return undefined;
  const nameOf = (layer: number) => input.roles.find((role) => role.layer === layer)?.layerName;
  const [below, above] = [nameOf(top), nameOf(top + 1)];
  return {
    code: "layer",
    tensors: failingNames,
    message:
      below && above
        ? `Every tensor ${nameOf(1) === below ? `of ${below}` : `from ${nameOf(1)} to ${below}`} fails and every tensor from ${above} up passes: the backward step from ${above} down to ${below} (${above}'s input gradient, or a layer between them) is the likely place.`
        : `Every tensor of layers 1..${top} fails and every tensor above passes: the backward step through layer ${top} (its activation derivative, or dZ${top}) is the likely place.`,
    evidence: { layer: top, ...(below ? { layerName: below } : {}), failing: failingNames },
  };
}
