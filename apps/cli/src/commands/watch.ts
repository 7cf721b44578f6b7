import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import {
  alertsForCheck,
  backoffMs,
  describeSchedule,
  fileDecision,
  findCheckpointFiles,
  inWritingOrder,
  modeFor,
  refusalOf,
  sendWebhook,
  SourceError,
  stepFromFileName,
  type AlertDraft,
  type FoundFile,
  type RecordedObservation,
} from "@gradcheck/audits";
import { openSafetensors } from "@gradcheck/checkpoint";
import {
  auditPolicySchema,
  backendLabel,
  webhookSchema,
  provenanceFor,
  recordedCheckOptions,
  reportSchema,
  type AlertKind,
  type AuditPolicy,
  type CheckMode,
  type Report,
} from "@gradcheck/contracts";
import type { AlertRow, AuditEntryRow, AuditRepository, AuditRow, NewAlert } from "@gradcheck/db";
import { isCheckInputError, loadCheckInputOf, runLocalCheckWithResults, type CheckInput } from "@gradcheck/engine";
import type { CheckSpec } from "@gradcheck/models";
import pc from "picocolors";
import { checkOptionsFrom, type CheckOptionValues } from "../check-options.js";
import type { CliConfig } from "../config.js";
import { historyLocation, withDatabaseFor, type Repositories } from "../database.js";
import { InputError } from "../errors.js";
import { fileFingerprint } from "../files.js";
import type { Output } from "../io.js";
import { readModelSpec } from "../load-check-files.js";

export interface WatchCommandOptions extends Omit<CheckOptionValues, "mode"> {
  readonly model: string;
  /** the audit's name in the history (default: the folder's name) */
  readonly name?: string;
  readonly run: string;
  /** milliseconds between scans */
  readonly every: number;
  readonly first: CheckMode;
  readonly then: CheckMode;
  readonly fullEvery?: number;
  readonly webhook?: string;
  readonly webhookSecret?: string;
  readonly alertOn: AlertKind[];
  readonly regressionFactor: number;
  /** scan until every file seen is taken, then exit */
  readonly once: boolean;
}

/** Deliveries of one alert by `watch`; what is still undelivered is retried when it next starts. */
const WATCH_WEBHOOK_ATTEMPTS = 4;

/**
 * `gradcheck watch DIR --model M`: the coordinator's directory audit on one machine, into
 * the embedded history (or DATABASE_URL's). Every scan lists the folder's checkpoints; a file
 * with the same size and mtime as at the scan before is taken: checked once per content (by
 * the policy's mode), or recorded with its reason when it cannot be (NaN: diverged). Alerts
 * go to the webhook, signed, as the coordinator's do. Runs until interrupted (exit 0), or
 * with --once until nothing is left to take.
 */
export async function watchCommand(source: string, given: WatchCommandOptions, output: Output, config: CliConfig, signal?: AbortSignal): Promise<number> {
  // an empty $GRADCHECK_WEBHOOK_SECRET is no secret
  const options = { ...given, webhookSecret: given.webhookSecret || undefined };
  if ((options.webhook === undefined) !== (options.webhookSecret === undefined)) {
    throw new InputError("--webhook and --webhook-secret go together: the secret signs every alert (HMAC-SHA256)");
  }
  if (options.webhook !== undefined) {
    const problem = webhookSchema.safeParse({ url: options.webhook, secret: options.webhookSecret }).error?.issues[0];
    if (problem) throw new InputError(`--${problem.path[0] === "url" ? "webhook" : "webhook-secret"}: ${problem.message}`);
  }
  const spec = await readModelSpec(options.model);
  await findCheckpointFiles(source).catch((error: unknown) => {
    throw error instanceof SourceError ? new InputError(`${source}: ${error.message}`) : error;
  });
  const policy = auditPolicySchema.parse({ first: options.first, then: options.then, fullEvery: options.fullEvery ?? null });
  const name = options.name ?? auditNameOf(source);
  const audit = await withDatabaseFor(config, "open", async (database) => {
    const found = await ensureAudit(database, name, source, spec, policy, options);
    // alerts a previous watch could not deliver
    await deliver(database.audits, found, await database.audits.pendingAlerts(found.id), output);
    return found;
  });
  output.err(
    pc.dim(
      `Watching ${source} for ${modelNameOf(spec)} (audit ${name}, run ${options.run}, ${describeSchedule({ every: options.every })}, ` +
        `${policy.first} first then ${policy.then}${policy.fullEvery ? `, full every ${policy.fullEvery}th` : ""}) into ${historyLocation(config)}` +
        `${options.once ? "" : "; Ctrl-C stops"}.`,
    ),
  );

  const seen = new Map<string, RecordedObservation>();
  while (!signal?.aborted) {
    const files = await findCheckpointFiles(source).catch((error: unknown) => {
      // a folder that went away (a training job cleaning up) is waited for, not fatal
      output.err(`gradcheck: warning: ${(error as Error).message}; trying again`);
      return [] as FoundFile[];
    });
    const ready: FoundFile[] = [];
    for (const file of files) {
      const decision = fileDecision(seen.get(file.name), file);
      if (decision === "wait") seen.set(file.name, { sizeBytes: file.sizeBytes, mtimeMs: file.mtimeMs, taken: false });
      if (decision === "take") ready.push(file);
    }
    if (ready.length) {
      await withDatabaseFor(config, "record the audit in", async (database) => {
        for (const file of inWritingOrder(ready)) {
          await take(database, audit, spec, file, options, output);
          seen.set(file.name, { sizeBytes: file.sizeBytes, mtimeMs: file.mtimeMs, taken: true });
        }
      });
    }
    if (options.once && files.every((file) => seen.get(file.name)?.taken)) break;
    await sleep(options.every, undefined, { signal }).catch(() => undefined);
  }
  return 0;
}

/** The folder's (or glob's fixed part's) last name, as an audit name. */
function auditNameOf(source: string): string {
  const fixed = source.split("/").filter((part) => part && !/[*?[\]{}!]/.test(part));
  const last = (fixed.at(-1) ?? "watch").replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return `watch-${last || "folder"}`.slice(0, 100);
}

const modelNameOf = (spec: CheckSpec): string => (spec.version === 1 ? spec.spec.name : spec.graph.spec.name);
const recordedSpecOf = (spec: CheckSpec): unknown => (spec.version === 1 ? spec.spec : spec.graph.spec);

/** The watch's audit in the history: found by name (for the same model), or created. */
async function ensureAudit(database: Repositories, name: string, source: string, spec: CheckSpec, policy: AuditPolicy, options: WatchCommandOptions): Promise<AuditRow> {
  const { row: model } = await database.models.register(modelNameOf(spec), recordedSpecOf(spec));
  const existing = await database.audits.findByName(name);
  if (existing && existing.modelId !== model.id) throw new InputError(`the audit "${name}" in the history is of another model; give this one another --name`);
  // this watch's flags are the audit's settings from now on; its entries stay
  const settings = {
    run: options.run,
    source: "directory",
    path: source,
    schedule: { every: options.every },
    // the policy sets each check's mode
    options: withoutMode(checkOptionsFrom({ ...options, mode: "full" })),
    policy,
    webhookUrl: options.webhook ?? null,
    webhookSecret: options.webhookSecret ?? null,
    alertOn: options.alertOn,
    regressionFactor: options.regressionFactor,
  };
  return existing ? database.audits.update(existing.id, settings) : database.audits.create({ name, modelId: model.id, ...settings });
}

function withoutMode<T extends { mode?: unknown }>({ mode: _mode, ...rest }: T): Omit<T, "mode"> {
  return rest;
}

/** Takes one stable file: a checked entry, a refused one, or nothing (its bytes were taken before). */
async function take(database: Repositories, audit: AuditRow, spec: CheckSpec, file: FoundFile, options: WatchCommandOptions, output: Output): Promise<void> {
  const { contentHash, sizeBytes } = await fileFingerprint(file.path);
  const known = await database.audits.entryByHash(audit.id, contentHash);
  // an entry still taken or checking was left by a watch that stopped mid-check: finished now
  if (known && known.status !== "taken" && known.status !== "checking") {
    if (known.file !== file.name) output.out(`${pc.dim("skip")}      ${file.name}: the same bytes as ${known.file}, taken before`);
    return;
  }
  let input: CheckInput | undefined;
  let refused: { kind: "diverged" | "refused"; reason: string } | undefined;
  let step: number | null;
  try {
    input = await loadCheckInputOf(file.path, spec, file.name);
    step = input.step ?? stepFromFileName(file.name);
  } catch (error) {
    if (!isCheckInputError(error)) throw error;
    step = await stepOf(file);
    refused = refusalOf(error as Error, step);
  }
  const { entry } = await database.audits.claimEntry(audit.id, { contentHash, file: file.name, step, refused: refused?.reason ?? null }, (checked) =>
    modeFor(auditPolicySchema.parse(audit.policy), checked),
  );
  if (refused || !input) {
    const kind = refused?.kind ?? "refused";
    output.out(`${pc.red(kind)}  ${file.name}: ${entry.reason}`);
    const drafts = audit.alertOn.includes(kind) ? [{ kind, message: entry.reason ?? kind, regressions: [] }] : [];
    await deliver(database.audits, audit, await database.audits.alertRefused(entry, drafts.map((draft) => alertOf(draft, audit, entry, null, null)), audit.webhookUrl !== null), output);
    return;
  }
  const report = await check({ ...input, step }, entry, file, { contentHash, sizeBytes }, audit, options);
  const finishedAt = new Date();
  const checkId = await database.history.recordFinishedCheck({
    model: { name: modelNameOf(spec), spec: recordedSpecOf(spec) },
    checkpoint: { contentHash, step: input.step, dtype: input.precision, sizeBytes },
    run: audit.run,
    step,
    options: recordedCheckOptions(reportOptions(entry.mode as CheckMode, options)),
    backend: backendLabel(report.compute),
    report,
    startedAt: finishedAt,
    finishedAt,
  });
  await database.audits.attachCheck(entry.id, checkId);
  const before = await database.audits.previousCheckOfRun(audit.modelId, audit.run, step, checkId, finishedAt);
  const previous = before ? { id: before.id, step: before.step, report: reportSchema.parse(before.report) } : null;
  const drafts = alertsForCheck(report, step, previous, audit.regressionFactor, audit.alertOn as AlertKind[]);
  const alerts = await database.audits.settleEntry(
    entry.id,
    { status: "checked", verdict: report.verdict, reason: null },
    drafts.map((draft) => alertOf(draft, audit, { ...entry, checkId }, report, previous)),
    audit.webhookUrl !== null,
  );
  const verdict = report.verdict === "fail" ? pc.red("fail") : report.verdict === "warn" ? pc.yellow("warn") : pc.green("pass");
  output.out(`${verdict}      ${file.name}: step ${step ?? "?"}, ${entry.mode}, relative difference ${report.relativeDifference.toExponential(2)} ${pc.dim(`(check ${checkId.slice(0, 8)})`)}`);
  await deliver(database.audits, audit, alerts ?? [], output);
}

function reportOptions(mode: CheckMode, options: WatchCommandOptions) {
  return { ...checkOptionsFrom({ ...options, mode }), mode } as Parameters<typeof recordedCheckOptions>[0];
}

async function check(input: CheckInput, entry: AuditEntryRow, file: FoundFile, fingerprint: { contentHash: string; sizeBytes: number }, audit: AuditRow, options: WatchCommandOptions): Promise<Report> {
  const { report } = await runLocalCheckWithResults(input, { ...reportOptions(entry.mode as CheckMode, options), backend: "cpu" });
  return {
    ...report,
    provenance: provenanceFor(report, {
      checkpoint: { file: file.name.slice(file.name.lastIndexOf("/") + 1), sha256: fingerprint.contentHash, sizeBytes: fingerprint.sizeBytes },
      run: audit.run,
      checkedAt: new Date().toISOString(),
      host: hostname(),
    }),
  };
}

/** A checkpoint's step without reading its values: its metadata's, else its file name's. */
async function stepOf(file: FoundFile): Promise<number | null> {
  const opened = await openSafetensors(file.path).catch(() => undefined);
  const step = opened?.header.metadata.step;
  await opened?.close();
  return step !== undefined && /^\d+$/.test(step) && Number(step) <= 2 ** 31 - 1 ? Number(step) : stepFromFileName(file.name);
}

function alertOf(draft: AlertDraft, audit: AuditRow, entry: AuditEntryRow, report: Report | null, previous: { id: string; step: number | null } | null): NewAlert {
  return {
    kind: draft.kind,
    message: draft.message,
    payload: {
      kind: draft.kind,
      message: draft.message,
      audit: audit.name,
      model: report?.model ?? "",
      run: audit.run,
      step: entry.step,
      file: entry.file,
      checkpoint: entry.contentHash,
      check:
        report && entry.checkId
          ? { id: entry.checkId, verdict: report.verdict, relativeDifference: report.relativeDifference, mode: report.mode, outliers: report.coordinates.outliers }
          : null,
      previous: draft.kind === "regression" && previous ? { check: previous.id, step: previous.step } : null,
      regressions: [...draft.regressions],
      reason: entry.reason,
      createdAt: new Date().toISOString(),
    },
  };
}

/** Sends each alert to the audit's webhook, a few times with backoff, and records how it went. */
async function deliver(audits: AuditRepository, audit: AuditRow, alerts: readonly AlertRow[], output: Output): Promise<void> {
  for (const alert of alerts) {
    output.out(`  ${pc.yellow("alert")} ${alert.kind}: ${alert.message}`);
    if (alert.status !== "pending" || !audit.webhookUrl || !audit.webhookSecret) continue;
    for (let attempt = alert.attempts + 1; ; attempt++) {
      try {
        await sendWebhook(audit.webhookUrl, audit.webhookSecret, alert.payload as never);
        await audits.recordDelivery(alert.id, { status: "sent", error: null });
        output.out(pc.dim(`  sent to ${audit.webhookUrl}`));
        break;
      } catch (error) {
        const last = attempt - alert.attempts >= WATCH_WEBHOOK_ATTEMPTS;
        // left pending after this watch's attempts: its next start tries again
        await audits.recordDelivery(alert.id, { status: "pending", error: (error as Error).message });
        if (last) {
          output.err(`gradcheck: warning: alert ${alert.kind} not delivered (${(error as Error).message}); the next watch tries again`);
          break;
        }
        await sleep(backoffMs(attempt - alert.attempts));
      }
    }
  }
}
