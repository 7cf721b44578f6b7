import type { AlertPayload, AuditEntryStatus, CheckMode } from "@gradcheck/contracts";
import type { Prisma, PrismaClient } from "./generated/prisma/client.js";

/** An audit as stored (its secret included: only alert delivery reads it). */
export interface AuditRow {
  readonly id: string;
  readonly name: string;
  readonly modelId: string;
  readonly run: string;
  readonly source: string;
  readonly path: string | null;
  readonly schedule: unknown;
  readonly options: unknown;
  readonly policy: unknown;
  readonly webhookUrl: string | null;
  readonly webhookSecret: string | null;
  readonly alertOn: string[];
  readonly regressionFactor: number;
  readonly paused: boolean;
  readonly createdAt: Date;
  readonly lastScanAt: Date | null;
}

export type NewAudit = Omit<AuditRow, "id" | "createdAt" | "lastScanAt" | "paused" | "schedule" | "options" | "policy"> & {
  readonly schedule: Prisma.InputJsonValue | null;
  readonly options: Prisma.InputJsonValue;
  readonly policy: Prisma.InputJsonValue;
};

export interface AuditEntryRow {
  readonly id: string;
  readonly auditId: string;
  readonly sequence: number;
  readonly contentHash: string;
  readonly file: string;
  readonly step: number | null;
  readonly status: string;
  readonly mode: string | null;
  readonly checkId: string | null;
  readonly verdict: string | null;
  readonly reason: string | null;
  readonly createdAt: Date;
  readonly settledAt: Date | null;
}

export interface AlertRow {
  readonly id: string;
  readonly entryId: string;
  readonly kind: string;
  readonly message: string;
  readonly payload: unknown;
  readonly status: string;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly sentAt: Date | null;
}

/** What a scan recorded of a file. */
export interface AuditFileRow {
  readonly name: string;
  readonly sizeBytes: number;
  readonly mtimeMs: number;
  readonly taken: boolean;
}

/** A checkpoint to take into an audit: to check (`mode` from the policy, by the entries with a check before it), or refused. */
export interface EntryClaim {
  readonly contentHash: string;
  readonly file: string;
  readonly step: number | null;
  /** null: to be checked; a reason: refused */
  readonly refused: string | null;
}

/** An alert to record with the entry that raised it; `payload` gets the alert's id. */
export interface NewAlert {
  readonly kind: string;
  readonly message: string;
  readonly payload: Omit<AlertPayload, "alert">;
}

/** Audits, their entries (one per checkpoint content), the files their scans saw, and their alerts. */
export class AuditRepository {
  constructor(private readonly prisma: PrismaClient) {}

  create(audit: NewAudit): Promise<AuditRow> {
    return this.prisma.audit.create({ data: { ...audit, schedule: audit.schedule ?? undefined } });
  }

  /** Replaces an audit's settings (not its name, model or history). */
  update(id: string, settings: Partial<Omit<NewAudit, "name" | "modelId">>): Promise<AuditRow> {
    return this.prisma.audit.update({ where: { id }, data: { ...settings, schedule: settings.schedule ?? undefined } });
  }

  findByName(name: string): Promise<AuditRow | null> {
    return this.prisma.audit.findUnique({ where: { name } });
  }

  /** The files the audit's scans saw, by name. */
  async files(auditId: string): Promise<Map<string, AuditFileRow>> {
    const rows = await this.prisma.auditFile.findMany({ where: { auditId } });
    return new Map(rows.map((row) => [row.name, { name: row.name, sizeBytes: Number(row.sizeBytes), mtimeMs: row.mtimeMs, taken: row.entryId !== null }]));
  }

  /** Records a file as a scan saw it, not taken (new, or changed since it was). */
  async observeFile(auditId: string, name: string, sizeBytes: number, mtimeMs: number): Promise<void> {
    const seen = { sizeBytes: BigInt(sizeBytes), mtimeMs, entryId: null, seenAt: new Date() };
    await this.prisma.auditFile.upsert({ where: { auditId_name: { auditId, name } }, create: { auditId, name, ...seen }, update: seen });
  }

  /** Marks a file as taken into an entry (its own, or an earlier file's with the same bytes). */
  async takeFile(auditId: string, name: string, entryId: string): Promise<void> {
    await this.prisma.auditFile.update({ where: { auditId_name: { auditId, name } }, data: { entryId } });
  }

  entryByHash(auditId: string, contentHash: string): Promise<AuditEntryRow | null> {
    return this.prisma.auditEntry.findUnique({ where: { auditId_contentHash: { auditId, contentHash } } });
  }

  /**
   * Takes a checkpoint into the audit once per content: a new entry (created: true), or the
   * one its bytes already have. Claims of one audit are serialized by an advisory lock, so the
   * sequence has no gaps and `modeOf` counts every checked entry before this one.
   */
  async claimEntry(auditId: string, claim: EntryClaim, modeOf: (checkedBefore: number) => CheckMode): Promise<{ entry: AuditEntryRow; created: boolean }> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT pg_advisory_xact_lock(hashtext(${`audit:${auditId}`}))::text`;
      const existing = await tx.auditEntry.findUnique({ where: { auditId_contentHash: { auditId, contentHash: claim.contentHash } } });
      if (existing) return { entry: existing, created: false };
      const [sequence, checkedBefore] = await Promise.all([
        tx.auditEntry.count({ where: { auditId } }),
        tx.auditEntry.count({ where: { auditId, mode: { not: null } } }),
      ]);
      const entry = await tx.auditEntry.create({
        data: {
          auditId,
          sequence,
          contentHash: claim.contentHash,
          file: claim.file,
          step: claim.step,
          status: claim.refused === null ? "taken" : "refused",
          mode: claim.refused === null ? modeOf(checkedBefore) : null,
          reason: claim.refused,
          settledAt: claim.refused === null ? null : new Date(),
        },
      });
      return { entry, created: true };
    });
  }

  /** The check an entry's checkpoint went to. */
  async attachCheck(entryId: string, checkId: string): Promise<void> {
    await this.prisma.auditEntry.update({ where: { id: entryId }, data: { checkId, status: "checking" } });
  }

  /**
   * Settles an entry (its check finished, or failed) and records its alerts, in one
   * transaction; only the first to settle it does (false for any later one), so an alert is
   * raised once however many sweeps see the check finish.
   */
  async settleEntry(
    entryId: string,
    outcome: { status: Extract<AuditEntryStatus, "checked" | "failed">; verdict: string | null; reason: string | null },
    alerts: readonly NewAlert[],
    deliverable: boolean,
  ): Promise<AlertRow[] | null> {
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.auditEntry.updateMany({
        where: { id: entryId, status: { in: ["taken", "checking"] } },
        data: { ...outcome, settledAt: new Date() },
      });
      if (count === 0) return null;
      const entry = await tx.auditEntry.findUniqueOrThrow({ where: { id: entryId } });
      return this.recordAlerts(tx, entry, alerts, deliverable);
    });
  }

  /** Records the alerts of an entry refused when it was taken (a diverged checkpoint). */
  async alertRefused(entry: AuditEntryRow, alerts: readonly NewAlert[], deliverable: boolean): Promise<AlertRow[]> {
    return this.prisma.$transaction((tx) => this.recordAlerts(tx, entry, alerts, deliverable));
  }

  private async recordAlerts(tx: Prisma.TransactionClient, entry: AuditEntryRow, alerts: readonly NewAlert[], deliverable: boolean): Promise<AlertRow[]> {
    const rows: AlertRow[] = [];
    for (const alert of alerts) {
      const row = await tx.alert.create({
        data: { auditId: entry.auditId, entryId: entry.id, kind: alert.kind, message: alert.message, payload: {}, status: deliverable ? "pending" : "unsent" },
      });
      const payload = { alert: row.id, ...alert.payload } as unknown as Prisma.InputJsonValue;
      rows.push(await tx.alert.update({ where: { id: row.id }, data: { payload } }));
    }
    return rows;
  }

  /** Alerts not yet delivered: pending ones, oldest first (to resume after a restart). */
  pendingAlerts(auditId?: string): Promise<AlertRow[]> {
    return this.prisma.alert.findMany({ where: { status: "pending", ...(auditId ? { auditId } : {}) }, orderBy: { createdAt: "asc" } });
  }

  /** Records a delivery attempt: sent, failed for good, or pending (another attempt comes). */
  async recordDelivery(alertId: string, outcome: { status: "sent" | "failed" | "pending"; error: string | null }): Promise<void> {
    await this.prisma.alert.update({
      where: { id: alertId },
      data: { status: outcome.status, attempts: { increment: 1 }, lastError: outcome.error, sentAt: outcome.status === "sent" ? new Date() : undefined },
    });
  }

  /** Entries waiting for their check, or taken and never given one (a process stopped in between). */
  openEntries(auditId: string): Promise<AuditEntryRow[]> {
    return this.prisma.auditEntry.findMany({ where: { auditId, status: { in: ["taken", "checking"] } }, orderBy: { sequence: "asc" } });
  }

  /** The newest entries first, each with its alerts. */
  entries(auditId: string, limit: number): Promise<(AuditEntryRow & { alerts: AlertRow[] })[]> {
    return this.prisma.auditEntry.findMany({ where: { auditId }, orderBy: { sequence: "desc" }, take: limit, include: { alerts: { orderBy: { createdAt: "asc" } } } });
  }

  async touchScan(auditId: string, at: Date): Promise<void> {
    await this.prisma.audit.update({ where: { id: auditId }, data: { lastScanAt: at } });
  }

  /**
   * The run's checked checkpoint before `step` (the latest step below it; for an unknown step,
   * the latest finished before `finishedBefore`), with its report: what a regression is
   * measured against.
   */
  async previousCheckOfRun(modelId: string, run: string, step: number | null, excludeCheckId: string, finishedBefore: Date): Promise<{ id: string; step: number | null; report: unknown } | null> {
    const where = { modelId, run, status: "done", id: { not: excludeCheckId } } as const;
    const found =
      step === null
        ? await this.prisma.check.findFirst({ where: { ...where, finishedAt: { lt: finishedBefore } }, orderBy: { finishedAt: "desc" } })
        : await this.prisma.check.findFirst({ where: { ...where, step: { lt: step } }, orderBy: [{ step: "desc" }, { finishedAt: "desc" }] });
    return found ? { id: found.id, step: found.step, report: found.report } : null;
  }
}
