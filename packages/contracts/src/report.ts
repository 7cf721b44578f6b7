import { z } from "zod";

export const VERDICTS = ["pass", "warn", "fail"] as const;
export const CHECK_MODES = ["full"] as const;
export const PRECISIONS = ["F64", "F32", "F16", "BF16"] as const;

export const WARNING_CODES = [
  "dropout-disabled",
  "kink",
  "low-precision",
  "unused-tensors",
  "step-unknown",
  "nothing-checked",
] as const;

export const worstCoordinateSchema = z.object({
  index: z.array(z.number().int().nonnegative()),
  numeric: z.number(),
  analytic: z.number(),
  absError: z.number(),
  /** |n − a| / max(|n| + |a|, floor) */
  relativeError: z.number(),
});

export const tensorReportSchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  relativeDifference: z.number(),
  maxAbsError: z.number(),
  verdict: z.enum(VERDICTS),
  checked: z.number().int().nonnegative(),
  kinks: z.number().int().nonnegative(),
  worst: z.array(worstCoordinateSchema),
});

export const warningSchema = z.object({ code: z.enum(WARNING_CODES), message: z.string() });

export const diagnosisSchema = z.object({
  code: z.string(),
  tensors: z.array(z.string()),
  message: z.string(),
  evidence: z.record(z.string(), z.unknown()),
});

/** The one report every check produces, wherever it runs. */
export const reportSchema = z.object({
  model: z.string(),
  verdict: z.enum(VERDICTS),
  relativeDifference: z.number(),
  eps: z.number().positive(),
  mode: z.enum(CHECK_MODES),
  precision: z.enum(PRECISIONS),
  thresholds: z.object({ pass: z.number(), warn: z.number() }),
  step: z.number().int().nonnegative().nullable(),
  coordinates: z.object({
    total: z.number().int().nonnegative(),
    checked: z.number().int().nonnegative(),
    kinks: z.number().int().nonnegative(),
  }),
  tensors: z.array(tensorReportSchema),
  warnings: z.array(warningSchema),
  diagnosis: z.array(diagnosisSchema),
});

export type Verdict = (typeof VERDICTS)[number];
export type WarningCode = (typeof WARNING_CODES)[number];
export type Warning = z.infer<typeof warningSchema>;
export type TensorReport = z.infer<typeof tensorReportSchema>;
export type WorstCoordinate = z.infer<typeof worstCoordinateSchema>;
export type Diagnosis = z.infer<typeof diagnosisSchema>;
export type Report = z.infer<typeof reportSchema>;

/** Exit status of a check: 0 pass or warn, 1 fail. */
export function exitCodeFor(verdict: Verdict): 0 | 1 {
  return verdict === "fail" ? 1 : 0;
}
