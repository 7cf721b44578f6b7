import { z } from "zod";

export const VERDICTS = ["pass", "warn", "fail"] as const;
export const CHECK_MODES = ["full", "sample", "directional"] as const;
export const STEP_RULES = ["fixed", "auto"] as const;
export const PRECISIONS = ["F64", "F32", "F16", "BF16"] as const;

export const WARNING_CODES = [
  "dropout-disabled",
  "kink",
  "low-precision",
  "unused-tensors",
  "step-unknown",
  "nothing-checked",
  "partial-coverage",
  "thresholds-raised",
  "localization-incomplete",
  "float32-arithmetic",
] as const;

export const worstCoordinateSchema = z.object({
  index: z.array(z.number().int().nonnegative()),
  numeric: z.number(),
  analytic: z.number(),
  absError: z.number(),
  /** |n − a| / max(|n| + |a|, floor) */
  relativeError: z.number(),
});

/** A coordinate whose disagreement its own tolerance cannot explain: it fails its tensor. */
export const outlierSchema = z.object({
  index: z.array(z.number().int().nonnegative()),
  /** the numerical derivative at the confirming step h/2 */
  numeric: z.number(),
  analytic: z.number(),
  /** the most |n − a| a correct coordinate may show here: rounding of dθ's arithmetic plus the numerical error, times the safety factor */
  tolerance: z.number(),
  /** |n − a| / tolerance */
  excess: z.number(),
});

/** Per tensor: the outliers found, worst first (at most the report's top per tensor). */
export const tensorOutliersSchema = z.object({
  count: z.number().int().nonnegative(),
  /** false when more candidates exceeded their tolerance than were confirmed: count is then a lower bound */
  complete: z.boolean(),
  worst: z.array(outlierSchema),
});

/** What a partial check can and cannot rule out in a tensor. */
export const sensitivitySchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("sample"),
    /** a bug confined to fewer than this many coordinates escapes the sample with probability ≥ 1/2 */
    escapesBelow: z.number().int().nonnegative(),
    /** a bug in at least this many coordinates is caught with probability ≥ 95% */
    caughtFrom: z.number().int().nonnegative(),
  }),
  z.object({
    kind: z.literal("directional"),
    /** an error whose norm over the tensor is below this can pass: 2·pass·‖dθ‖ */
    smallestError: z.number().nonnegative(),
    /** the same, relative to the tensor's ‖dθ‖ */
    relativeToGradient: z.number().nonnegative(),
  }),
]);

export const tensorReportSchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  relativeDifference: z.number(),
  maxAbsError: z.number(),
  verdict: z.enum(VERDICTS),
  size: z.number().int().nonnegative(),
  /** coordinates whose own central difference was compared */
  checked: z.number().int().nonnegative(),
  /** checked / size */
  coverage: z.number().min(0).max(1),
  kinks: z.number().int().nonnegative(),
  /** directional mode: random directions compared over this tensor */
  projections: z.number().int().nonnegative().optional(),
  worst: z.array(worstCoordinateSchema),
  /** this tensor's thresholds and the rounding they follow; null in reports recorded before they were measured */
  tolerance: z
    .object({
      pass: z.number(),
      warn: z.number(),
      /** the relative difference a correct backprop in dθ's arithmetic shows on this tensor, measured */
      expectedRounding: z.number().nonnegative(),
    })
    .nullable()
    .default(null),
  outliers: tensorOutliersSchema.default({ count: 0, complete: true, worst: [] }),
  /** sample and directional modes: what the check could have missed; null in full mode */
  sensitivity: sensitivitySchema.nullable().default(null),
});

/** How the thresholds and per-coordinate tolerances were set. */
export const tolerancesSchema = z.object({
  /** the arithmetic dθ is held to: the checkpoint's dtype, or F32 for float32 values stored as F64 */
  arithmetic: z.enum(PRECISIONS),
  /** emulated backprops the rounding study ran on the probe batch (none for F64: float64 rounding is bounded, not emulated) */
  studyRuns: z.number().int().nonnegative(),
  /** the relative difference a correct backprop in that arithmetic shows over all of θ */
  expectedRounding: z.number().nonnegative(),
  /** a coordinate or tensor may be this many times worse than the study */
  safety: z.number().positive(),
  /** warn above pass, fail above this multiple of pass */
  warnOverPass: z.number().positive(),
  /** the floor under per-coordinate relative errors */
  coordinateFloor: z.number().nonnegative(),
});

export const localizationSchema = z.object({
  /** cost evaluations the group testing took */
  evaluations: z.number().int().nonnegative(),
  /** coordinates found to disagree, e.g. "W1[3,7]" */
  located: z.array(z.string()),
  /** false when more coordinates disagree than the search lists */
  complete: z.boolean(),
});

export const COMPUTE_BACKENDS = ["cpu", "gpujs"] as const;
export const GPUJS_MODE_NAMES = ["headlessgl", "webasm", "cpu"] as const;

/** A backend that computed some of a check's derivatives. */
export const backendUsageSchema = z.object({
  name: z.enum(COMPUTE_BACKENDS),
  /** the gpu.js mode; null on the cpu backend */
  mode: z.enum(GPUJS_MODE_NAMES).nullable(),
  /** the arithmetic of its perturbed costs */
  precision: z.enum(["float64", "float32"]),
  /** coordinates (or directions) it computed */
  items: z.number().int().nonnegative(),
});

/** Where a check's numerical derivatives were computed, and in what precision. */
export const computeSchema = z.object({
  backends: z.array(backendUsageSchema),
  /** the float32 screen and its float64 confirmation, in coordinates; null when everything ran in float64 */
  screen: z
    .object({
      screened: z.number().int().nonnegative(),
      /** flagged by the screen and recomputed in float64 */
      flagged: z.number().int().nonnegative(),
      /** passed the screen and recomputed in float64 as the random sample */
      sampled: z.number().int().nonnegative(),
      /** passed the screen and kept in float32: left out of ‖n − a‖, which the sample estimates */
      unconfirmed: z.number().int().nonnegative(),
    })
    .nullable(),
});

export const warningSchema = z.object({ code: z.enum(WARNING_CODES), message: z.string() });

export const diagnosisSchema = z.object({
  code: z.string(),
  tensors: z.array(z.string()),
  message: z.string(),
  evidence: z.record(z.string(), z.unknown()),
});

/** This release of gradcheck, as reports and `--version` state it. */
export const GRADCHECK_VERSION = "0.1.0";

/** Where a report came from: what was checked, when, by which gradcheck, where and on what. */
export const provenanceSchema = z.object({
  checkpoint: z.object({
    /** the file's name as it was checked or submitted (no directories); null when not known */
    file: z.string().nullable(),
    sha256: z.string(),
    sizeBytes: z.number().int().nonnegative(),
  }),
  run: z.string(),
  /** when the check finished, ISO 8601 */
  checkedAt: z.string(),
  gradcheck: z.string(),
  /** the machine that made the report: this one for `gradcheck check`, the coordinator's for the cluster */
  host: z.string(),
  /** what computed the perturbed costs, as the history lists it: "cpu", "cpu+gpujs:webasm" */
  backend: z.string(),
});

/** A report's provenance from what the edge that ran the check knows; the version and backend from the report itself. */
export function provenanceFor(report: Pick<Report, "compute">, facts: Omit<Provenance, "gradcheck" | "backend">): Provenance {
  return { ...facts, gradcheck: GRADCHECK_VERSION, backend: backendLabel(report.compute) };
}

/** The one report every check produces, wherever it runs. */
export const reportSchema = z.object({
  model: z.string(),
  verdict: z.enum(VERDICTS),
  relativeDifference: z.number(),
  /** the fixed step, or the base of the automatic one (h_i = eps·max(1, |θ_i|)) */
  eps: z.number().positive(),
  stepRule: z.enum(STEP_RULES),
  richardson: z.boolean(),
  mode: z.enum(CHECK_MODES),
  /** seed of the sample or the directions; null in full mode */
  seed: z.number().int().nullable(),
  precision: z.enum(PRECISIONS),
  /** J(θ) at the checkpoint */
  cost: z.number(),
  /** for the overall relative difference: measured rounding × safety, raised where the numerical noise requires */
  thresholds: z.object({ pass: z.number(), warn: z.number() }),
  /** null in reports recorded before tolerances were measured */
  tolerances: tolerancesSchema.nullable().default(null),
  /** how much the numerical estimate moves when h is halved, relative to its size */
  noise: z.object({ relative: z.number().nonnegative(), sampled: z.number().int().nonnegative() }),
  /** evaluations of J the check took (a full check: 2 per coordinate) */
  costEvaluations: z.number().int().nonnegative(),
  step: z.number().int().nonnegative().nullable(),
  coordinates: z.object({
    total: z.number().int().nonnegative(),
    checked: z.number().int().nonnegative(),
    kinks: z.number().int().nonnegative(),
    /** coordinates beyond their own tolerance (a lower bound where a tensor's count is incomplete) */
    outliers: z.number().int().nonnegative().default(0),
  }),
  tensors: z.array(tensorReportSchema),
  /** directional mode: where the disagreement was narrowed down to */
  localization: localizationSchema.nullable(),
  warnings: z.array(warningSchema),
  diagnosis: z.array(diagnosisSchema),
  /** reports recorded before this field existed read as "not recorded": no backends */
  compute: computeSchema.default({ backends: [], screen: null }),
  /** null where no one recorded it: the engine's own reports, and reports stored before it existed */
  provenance: provenanceSchema.nullable().default(null),
});

export type Verdict = (typeof VERDICTS)[number];
export type WarningCode = (typeof WARNING_CODES)[number];
export type Warning = z.infer<typeof warningSchema>;
export type TensorReport = z.infer<typeof tensorReportSchema>;
export type WorstCoordinate = z.infer<typeof worstCoordinateSchema>;
export type Diagnosis = z.infer<typeof diagnosisSchema>;
export type Localization = z.infer<typeof localizationSchema>;
export type CheckMode = (typeof CHECK_MODES)[number];
export type Report = z.infer<typeof reportSchema>;
export type BackendUsage = z.infer<typeof backendUsageSchema>;
export type ComputeSummary = z.infer<typeof computeSchema>;
export type TensorOutliers = z.infer<typeof tensorOutliersSchema>;
export type Outlier = z.infer<typeof outlierSchema>;
export type Sensitivity = z.infer<typeof sensitivitySchema>;
export type Tolerances = z.infer<typeof tolerancesSchema>;
export type Provenance = z.infer<typeof provenanceSchema>;

/** A report's backends in a word, as the history lists them: "cpu", "gpujs:webasm", "cpu+gpujs:headlessgl". */
export function backendLabel(compute: ComputeSummary): string {
  if (compute.backends.length === 0) return "unrecorded";
  return compute.backends.map((usage) => (usage.mode ? `${usage.name}:${usage.mode}` : usage.name)).join("+");
}

/** Exit status of a check: 0 pass or warn, 1 fail. */
export function exitCodeFor(verdict: Verdict): 0 | 1 {
  return verdict === "fail" ? 1 : 0;
}
