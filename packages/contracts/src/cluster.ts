import { z } from "zod";
import { backendUsageSchema, CHECK_MODES, reportSchema, VERDICTS } from "./report.js";

// What the coordinator, the workers and `gradcheck submit` agree on: queue and job names,
// job payloads, and the HTTP API's request and response bodies.

/** BullMQ queues: every check is one flow, an aggregate parent over its shard children. */
export enum QueueName {
  shards = "gradcheck-shards",
  aggregate = "gradcheck-aggregate",
  /** audits' scans: one job scheduler per audit */
  audits = "gradcheck-audits",
  /** alerts' webhook deliveries, retried with backoff */
  alerts = "gradcheck-alerts",
}

export enum JobName {
  shard = "shard",
  aggregate = "aggregate",
  scan = "scan",
  alert = "alert",
}

/** Deterministic job ids (BullMQ forbids ":"), so a flow added twice creates nothing new. */
export const shardJobId = (checkId: string, shardIndex: number): string => `check-${checkId}-shard-${shardIndex}`;
export const aggregateJobId = (checkId: string): string => `check-${checkId}-aggregate`;
/** An audit's job scheduler, and the delivery job of an alert. */
export const auditSchedulerId = (auditId: string): string => `audit-${auditId}`;
export const alertJobId = (alertId: string): string => `alert-${alertId}`;

/** The check options' limits and defaults: the one place the API, the engine and the CLI's flags take them from. */
export const CHECK_OPTION_LIMITS = {
  /** a fixed step h in (0, max] */
  eps: { max: 0.1 },
  samples: { min: 1, max: 100_000_000, default: 64 },
  directions: { min: 1, max: 10_000, default: 8 },
  seed: { min: 0, max: 2 ** 31 - 1, default: 0 },
  top: { min: 0, max: 1000, default: 5 },
} as const;

const limited = ({ min, max, default: fallback }: { min: number; max: number; default: number }) => z.number().int().min(min).max(max).default(fallback);

/** Check options, as the CLI's flags and the API take them. */
export const checkOptionsSchema = z
  .object({
    mode: z.enum(CHECK_MODES).default("full"),
    /** fixed finite-difference step; automatic (∛ε·max(1, |θ_i|)) when absent */
    eps: z.number().positive().max(CHECK_OPTION_LIMITS.eps.max).optional(),
    /** Richardson extrapolation from h and h/2 */
    richardson: z.boolean().default(false),
    /** sample mode: coordinates per tensor */
    samples: limited(CHECK_OPTION_LIMITS.samples),
    /** directional mode: random directions per tensor */
    directions: limited(CHECK_OPTION_LIMITS.directions),
    /** seeds the sample and the directions */
    seed: limited(CHECK_OPTION_LIMITS.seed),
    /** worst coordinates kept per tensor */
    top: limited(CHECK_OPTION_LIMITS.top),
  })
  .strict();
export type CheckOptionsInput = z.input<typeof checkOptionsSchema>;

/** How checkpoints are named everywhere: their SHA-256 in lowercase hex. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
const sha256 = z.string().regex(SHA256_HEX, "a SHA-256 in lowercase hex (64 characters)");

/** A training run's name: a check belongs to one, so that two runs of a model are two histories. */
export const DEFAULT_RUN = "default";
export const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export const runNameSchema = z.string().regex(RUN_NAME, "a run name: 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit");
/** A training step, as checkpoints and `--step` give it (stored as a PostgreSQL integer). */
export const MAX_STEP = 2 ** 31 - 1;
export const stepSchema = z.number().int().min(0).max(MAX_STEP);

/** A file name without directories, as a report's provenance records it. */
export const checkpointFileSchema = z.string().min(1).max(255).regex(/^[^/\\\0]+$/, "a file name without directories");

/** POST /api/v1/checks */
export const submitCheckSchema = z
  .object({
    model: z.string().min(1),
    checkpoint: sha256,
    options: checkOptionsSchema.default(checkOptionsSchema.parse({})),
    run: runNameSchema.default(DEFAULT_RUN),
    /** the training step, when the checkpoint's metadata lacks it or has another */
    step: stepSchema.optional(),
    /** the checkpoint's file name, for the report's provenance */
    checkpointFile: checkpointFileSchema.optional(),
    /** the version of the model's spec to check under (POST /models answers it); the latest when absent */
    specVersion: z.number().int().min(1).optional(),
  })
  .strict();
export type SubmitCheck = z.infer<typeof submitCheckSchema>;

const shardSchema = z.object({ index: z.number().int().nonnegative(), start: z.number().int().nonnegative(), end: z.number().int().positive() });

/** A shard job: everything a worker needs besides the checkpoint, which it downloads by hash. */
export const shardJobDataSchema = z.object({
  checkId: z.string(),
  checkpointHash: sha256,
  spec: z.unknown(),
  options: checkOptionsSchema,
  shard: shardSchema,
});
export type ShardJobData = z.infer<typeof shardJobDataSchema>;

/**
 * A shard job's return value. The results themselves do not travel through Redis: the worker
 * hands them to the coordinator first (PUT shardResultsPath, body shardResultsBodyBytes long),
 * which stores them in PostgreSQL as they come.
 */
export const shardJobResultSchema = z.object({
  shard: shardSchema,
  /** what computed the shard */
  backend: backendUsageSchema.omit({ items: true }),
  /** seconds the shard's computation took, for throughput figures */
  seconds: z.number().nonnegative(),
});
export type ShardJobResult = z.infer<typeof shardJobResultSchema>;

/** Where a worker PUTs a shard's results, as `application/octet-stream`, with `?start=&end=`. */
export const shardResultsPath = (checkId: string, shardIndex: number): string =>
  `/api/v1/checks/${encodeURIComponent(checkId)}/shards/${shardIndex}/results`;

/**
 * The body's length for a shard of `items` items: a float64 numerical derivative per item
 * (little-endian), then a status byte per item (the CoordinateStatus in the low 4 bits, the
 * ScreenOutcome in the high 4).
 */
export const shardResultsBodyBytes = (items: number): number => 9 * items;

export const aggregateJobDataSchema = z.object({ checkId: z.string(), shards: z.number().int().positive(), shardSize: z.number().int().positive(), items: z.number().int().positive() });
export type AggregateJobData = z.infer<typeof aggregateJobDataSchema>;

/** Progress a shard reports while it runs. */
export interface ShardProgress {
  readonly done: number;
  readonly total: number;
}

export const CHECK_STATUSES = ["queued", "running", "done", "failed", "cancelled"] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

export const checkProgressSchema = z.object({
  shardsDone: z.number().int().nonnegative(),
  shardsTotal: z.number().int().nonnegative(),
  itemsDone: z.number().int().nonnegative(),
  itemsTotal: z.number().int().nonnegative(),
  /** coordinates (or directions) per second since the check started; null before the first shard */
  itemsPerSecond: z.number().nonnegative().nullable(),
  etaSeconds: z.number().nonnegative().nullable(),
});
export type CheckProgress = z.infer<typeof checkProgressSchema>;

/** GET /api/v1/checks/:id, and each SSE event's data. */
export const checkStateSchema = z.object({
  id: z.string(),
  model: z.string(),
  checkpoint: z.string(),
  specVersion: z.number().int(),
  run: z.string(),
  step: z.number().int().nullable(),
  status: z.enum(CHECK_STATUSES),
  options: checkOptionsSchema,
  backend: z.string(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  progress: checkProgressSchema,
  report: reportSchema.nullable(),
  error: z.string().nullable(),
});
export type CheckState = z.infer<typeof checkStateSchema>;

/** One entry of GET /api/v1/models/:name/history: a finished check, with per-tensor figures. */
export const historyEntrySchema = z.object({
  checkId: z.string(),
  model: z.string(),
  specVersion: z.number().int(),
  run: z.string(),
  step: z.number().int().nullable(),
  mode: z.string(),
  verdict: z.string().nullable(),
  relativeDifference: z.number().nullable(),
  finishedAt: z.string().nullable(),
  tensors: z.array(z.object({ name: z.string(), relativeDifference: z.number(), verdict: z.string() })),
});
export type HistoryEntryView = z.infer<typeof historyEntrySchema>;
export const historySchema = z.array(historyEntrySchema);

/** POST /api/v1/models and GET /api/v1/models/:name: a registered model. */
export const modelViewSchema = z.object({
  name: z.string(),
  spec: z.unknown(),
  /** the spec's version under the name: a changed spec is the next one */
  version: z.number().int().min(1),
  createdAt: z.string(),
});
export type ModelView = z.infer<typeof modelViewSchema>;

/** GET /api/v1/health and /health/ready. */
export const healthSchema = z.object({ status: z.literal("ok"), database: z.literal("ok").optional(), queue: z.literal("ok").optional() });

/** Histogram buckets of shard durations in seconds, the same on the coordinator and the workers so their series compare. */
export const SHARD_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];

/** PUT a shard's results: whether this attempt stored them (false: an earlier one had). */
export const shardResultsAnswerSchema = z.object({ stored: z.boolean() });

/** GET /api/v1/models: each registered model, with its numbers of checkpoints and checks. */
export const modelListingSchema = z.array(z.object({ name: z.string(), version: z.number().int(), createdAt: z.string(), checkpoints: z.number().int(), checks: z.number().int() }));

/** A whole number from a query string ("12"), within limits. */
const queryInteger = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** The most entries a listing's page holds. */
export const MAX_PAGE = 500;

/** The filters both listings take: of checks, and of a model's history. */
const listingFilters = {
  run: runNameSchema.optional(),
  verdict: z.enum(VERDICTS).optional(),
  mode: z.enum(CHECK_MODES).optional(),
  /** training steps from this one on */
  stepFrom: queryInteger(0, MAX_STEP).optional(),
  /** training steps up to this one */
  stepTo: queryInteger(0, MAX_STEP).optional(),
  /** at or after this time (ISO 8601): finished, in a history; created, in GET /checks */
  since: z.iso.datetime({ offset: true }).optional(),
};

/** GET /api/v1/models/:name/history's query: which finished checks to list. */
export const historyQuerySchema = z
  .object({
    ...listingFilters,
    /** a page of at most this many (all when absent); the next page's address is in the Link header */
    limit: queryInteger(1, MAX_PAGE).optional(),
    cursor: z.string().min(1).optional(),
  })
  .strict();
export type HistoryQuery = z.infer<typeof historyQuerySchema>;

/** GET /api/v1/checks's query: filters, and a page of at most `limit` checks after `cursor`. */
export const checkListQuerySchema = z
  .object({
    model: z.string().min(1).optional(),
    status: z.enum(CHECK_STATUSES).optional(),
    ...listingFilters,
    limit: queryInteger(1, MAX_PAGE).default(50),
    /** `nextCursor` of the page before */
    cursor: z.string().min(1).optional(),
  })
  .strict();
export type CheckListQuery = z.infer<typeof checkListQuerySchema>;

/** One check in a listing: what it is and how it ended, without its report (GET /checks/:id has it). */
export const checkSummarySchema = z.object({
  id: z.string(),
  model: z.string(),
  specVersion: z.number().int(),
  run: z.string(),
  step: z.number().int().nullable(),
  checkpoint: z.string(),
  status: z.enum(CHECK_STATUSES),
  mode: z.string(),
  verdict: z.string().nullable(),
  relativeDifference: z.number().nullable(),
  backend: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type CheckSummary = z.infer<typeof checkSummarySchema>;

/** GET /api/v1/checks: newest first; `nextCursor` is null on the last page. */
export const checkListSchema = z.object({ checks: z.array(checkSummarySchema), nextCursor: z.string().nullable() });
export type CheckList = z.infer<typeof checkListSchema>;

/** POST /api/v1/models/:name/checkpoints */
export const checkpointInfoSchema = z.object({
  model: z.string(),
  hash: sha256,
  step: z.number().int().nullable(),
  dtype: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  createdAt: z.string(),
});
export type CheckpointInfo = z.infer<typeof checkpointInfoSchema>;
export const checkpointListSchema = z.array(checkpointInfoSchema);

/** Every 4xx and 5xx body. */
export const apiErrorSchema = z.object({ statusCode: z.number().int(), error: z.string(), message: z.string() });
export type ApiError = z.infer<typeof apiErrorSchema>;

export const isFinished = (status: CheckStatus): boolean => status === "done" || status === "failed" || status === "cancelled";

export type CheckOptionsRecord = z.infer<typeof checkOptionsSchema>;

/**
 * The options that shape a check's result, as recorded with it and hashed to recognise a
 * repeated submission: what the mode ignores is left out.
 */
export function recordedCheckOptions(options: CheckOptionsRecord): Partial<CheckOptionsRecord> {
  return {
    mode: options.mode,
    eps: options.eps,
    richardson: options.richardson,
    samples: options.mode === "sample" ? options.samples : undefined,
    directions: options.mode === "directional" ? options.directions : undefined,
    seed: options.mode === "full" ? undefined : options.seed,
    top: options.top,
  };
}

/** Worker processes name their queue connection by their number of processors, so the coordinator can size shards to the cluster. */
export const workerName = (processors: number): string => `processors-${processors}`;

/** Processors of a worker, from its Redis client name (`<prefix>:<queue>:w:<name>`); 1 when it does not say. */
export function processorsOfWorker(clientName: string): number {
  const match = /:w:processors-(\d+)$/.exec(clientName);
  return match ? Math.max(1, Number(match[1])) : 1;
}
