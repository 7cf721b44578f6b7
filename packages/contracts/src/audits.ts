import { z } from "zod";
import { CHECK_MODES, VERDICTS } from "./report.js";
import { checkOptionsSchema, DEFAULT_RUN, MAX_STEP, runNameSchema, SHA256_HEX } from "./cluster.js";

// Scheduled checkpoint audits: what the coordinator's /audits API, `gradcheck audit` and
// `gradcheck watch` agree on.

/** An audit's name: like a run's, so it can stand in a URL and a job id. */
export const AUDIT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export const auditNameSchema = z.string().regex(AUDIT_NAME, "an audit name: 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit");

/** The shortest schedule: scans more often than this would only read the same files again. */
export const MIN_AUDIT_INTERVAL_MS = 1000;

/**
 * When a directory audit scans: every N milliseconds, or on a cron pattern (five or six
 * fields, as BullMQ's job schedulers take them).
 */
export const auditScheduleSchema = z.union([
  z.object({ every: z.number().int().min(MIN_AUDIT_INTERVAL_MS).max(31 * 24 * 3600 * 1000) }).strict(),
  z.object({ cron: z.string().min(9).max(200) }).strict(),
]);
export type AuditSchedule = z.infer<typeof auditScheduleSchema>;

/**
 * Where an audit's checkpoints come from: a folder (every `*.safetensors` in it) or a glob
 * on a file system the coordinator sees; or "pushed", by `gradcheck submit --audit NAME`.
 */
export const auditSourceSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("directory"), path: z.string().min(1).max(4096) }).strict(),
  z.object({ type: z.literal("pushed") }).strict(),
]);
export type AuditSource = z.infer<typeof auditSourceSchema>;

/**
 * Which mode each checkpoint gets, after the classic advice: check thoroughly at
 * initialization, cheaply as training goes on, thoroughly again now and then.
 */
export const auditPolicySchema = z
  .object({
    /** the audit's first checkable checkpoint */
    first: z.enum(CHECK_MODES).default("full"),
    /** every later one */
    then: z.enum(CHECK_MODES).default("sample"),
    /** every Nth checkable checkpoint (counting the first as 0) gets a full check; null: never */
    fullEvery: z.number().int().min(2).max(1_000_000).nullable().default(null),
  })
  .strict();
export type AuditPolicy = z.infer<typeof auditPolicySchema>;

/** What an alert is about. "diverged": a checkpoint with NaN or ±Inf; "refused": one that cannot be checked otherwise. */
export const ALERT_KINDS = ["fail", "outlier", "regression", "diverged", "refused"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** The check options an audit starts every check from; the policy sets the mode. */
export const auditCheckOptionsSchema = checkOptionsSchema.omit({ mode: true });

export const webhookSchema = z
  .object({
    url: z.url({ protocol: /^https?$/, error: "an http:// or https:// URL" }),
    /** the HMAC-SHA256 key the receiver verifies the signature with; never shown again */
    secret: z.string().min(16, "at least 16 characters").max(256),
  })
  .strict();

/** The smallest rise of a tensor's relative difference that counts as a regression, by default. */
export const DEFAULT_REGRESSION_FACTOR = 10;

/** POST /api/v1/audits */
export const createAuditSchema = z
  .object({
    name: auditNameSchema,
    /** a registered model's name */
    model: z.string().min(1),
    /** the run its checks belong to */
    run: runNameSchema.default(DEFAULT_RUN),
    source: auditSourceSchema,
    /** required for a directory; a pushed audit has none */
    schedule: auditScheduleSchema.nullable().default(null),
    options: auditCheckOptionsSchema.default(auditCheckOptionsSchema.parse({})),
    policy: auditPolicySchema.default(auditPolicySchema.parse({})),
    webhook: webhookSchema.nullable().default(null),
    alertOn: z.array(z.enum(ALERT_KINDS)).max(ALERT_KINDS.length).default([...ALERT_KINDS]),
    regressionFactor: z.number().min(1.5).max(1e6).default(DEFAULT_REGRESSION_FACTOR),
  })
  .strict()
  .superRefine((audit, context) => {
    if (audit.source.type === "directory" && !audit.schedule) {
      context.addIssue({ code: "custom", path: ["schedule"], message: "a directory audit needs a schedule: {\"every\": ms} or {\"cron\": \"…\"}" });
    }
    if (audit.source.type === "pushed" && audit.schedule) {
      context.addIssue({ code: "custom", path: ["schedule"], message: "a pushed audit has no schedule: its checkpoints come from `gradcheck submit --audit`" });
    }
  });
export type CreateAudit = z.infer<typeof createAuditSchema>;
export type CreateAuditInput = z.input<typeof createAuditSchema>;

/** How an audit entry stands: taken (a check is about to be submitted), checking, checked, refused (cannot be checked), failed (its check failed on the cluster). */
export const AUDIT_ENTRY_STATUSES = ["taken", "checking", "checked", "refused", "failed"] as const;
export type AuditEntryStatus = (typeof AUDIT_ENTRY_STATUSES)[number];

export const ALERT_STATUSES = ["pending", "sent", "failed", "unsent"] as const;

export const alertViewSchema = z.object({
  id: z.string(),
  kind: z.enum(ALERT_KINDS),
  /** pending: being delivered; sent; failed: every attempt failed; unsent: the audit has no webhook */
  status: z.enum(ALERT_STATUSES),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  message: z.string(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
});
export type AlertView = z.infer<typeof alertViewSchema>;

export const auditEntryViewSchema = z.object({
  id: z.string(),
  /** the order the audit took its checkpoints in, from 0 */
  sequence: z.number().int(),
  file: z.string(),
  checkpoint: z.string().regex(SHA256_HEX),
  step: z.number().int().nullable(),
  status: z.enum(AUDIT_ENTRY_STATUSES),
  mode: z.enum(CHECK_MODES).nullable(),
  checkId: z.string().nullable(),
  verdict: z.enum(VERDICTS).nullable(),
  /** why a refused or failed entry was not checked */
  reason: z.string().nullable(),
  createdAt: z.string(),
  settledAt: z.string().nullable(),
  alerts: z.array(alertViewSchema),
});
export type AuditEntryView = z.infer<typeof auditEntryViewSchema>;

export const auditViewSchema = z.object({
  name: z.string(),
  model: z.string(),
  run: z.string(),
  source: auditSourceSchema,
  schedule: auditScheduleSchema.nullable(),
  options: auditCheckOptionsSchema,
  policy: auditPolicySchema,
  /** the webhook's URL; its secret is never shown */
  webhook: z.string().nullable(),
  alertOn: z.array(z.enum(ALERT_KINDS)),
  regressionFactor: z.number(),
  paused: z.boolean(),
  createdAt: z.string(),
  lastScanAt: z.string().nullable(),
  /** the next scheduled scan, as the queue has it; null when paused or pushed */
  nextScanAt: z.string().nullable(),
  entries: z.record(z.enum(AUDIT_ENTRY_STATUSES), z.number().int()),
  alerts: z.record(z.enum(ALERT_STATUSES), z.number().int()),
});
export type AuditView = z.infer<typeof auditViewSchema>;
export const auditListSchema = z.array(auditViewSchema);

/** GET /api/v1/audits/:name/entries: newest first */
export const auditEntriesQuerySchema = z
  .object({ limit: z.string().regex(/^\d+$/, "a whole number").transform(Number).pipe(z.number().int().min(1).max(500)).default(100) })
  .strict();
export const auditEntryListSchema = z.array(auditEntryViewSchema);

/** POST /api/v1/audits/:name/checkpoints's query: the pushed file's name and step. */
export const pushedCheckpointQuerySchema = z
  .object({
    file: z.string().min(1).max(255).regex(/^[^/\\\0]+$/, "a file name without directories").optional(),
    step: z.string().regex(/^\d+$/, "a whole number").transform(Number).pipe(z.number().int().min(0).max(MAX_STEP)).optional(),
  })
  .strict();

/** A tensor whose relative difference rose by the regression factor or more since the run's previous checkpoint. */
export const regressionSchema = z.object({
  tensor: z.string(),
  previous: z.number(),
  current: z.number(),
  factor: z.number(),
});
export type Regression = z.infer<typeof regressionSchema>;

/**
 * The body of an alert's webhook. Signed: `X-Gradcheck-Signature: sha256=<hex>` is the
 * HMAC-SHA256, under the audit's secret, of `<X-Gradcheck-Timestamp>.<body>`.
 */
export const alertPayloadSchema = z.object({
  alert: z.string(),
  kind: z.enum(ALERT_KINDS),
  message: z.string(),
  audit: z.string(),
  model: z.string(),
  run: z.string(),
  step: z.number().int().nullable(),
  file: z.string(),
  checkpoint: z.string(),
  check: z
    .object({ id: z.string(), verdict: z.enum(VERDICTS), relativeDifference: z.number(), mode: z.enum(CHECK_MODES), outliers: z.number().int() })
    .nullable(),
  /** regression: the run's previous checked checkpoint, and the tensors that rose */
  previous: z.object({ check: z.string(), step: z.number().int().nullable() }).nullable(),
  regressions: z.array(regressionSchema),
  reason: z.string().nullable(),
  createdAt: z.string(),
});
export type AlertPayload = z.infer<typeof alertPayloadSchema>;
