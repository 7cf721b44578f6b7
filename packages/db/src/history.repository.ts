import { backendLabel, DEFAULT_RUN, reportSchema, type Report } from "@gradcheck/contracts";
import { canonicalHash } from "./canonical-hash.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { modelVersionFor } from "./model-versions.js";
import type { Prisma, PrismaClient } from "./generated/prisma/client.js";

/** A finished check, with what identifies its model and checkpoint. */
export interface FinishedCheck {
  readonly model: { readonly name: string; readonly spec: unknown };
  /** `step`: the checkpoint's own, from its metadata */
  readonly checkpoint: { readonly contentHash: string; readonly step: number | null; readonly dtype: string; readonly sizeBytes: number };
  /** the training run (default "default"; journal entries written before runs existed have none) */
  readonly run?: string;
  /** the check's training step: `--step`, else the checkpoint's (the default) */
  readonly step?: number | null;
  readonly options: Record<string, unknown>;
  readonly backend: string;
  readonly report: Report;
  readonly startedAt: Date;
  readonly finishedAt: Date;
}

/** One line of a model's history: a check of one checkpoint, with per-tensor figures. */
export interface HistoryEntry {
  readonly checkId: string;
  readonly model: string;
  /** the version of the model's spec the check ran under */
  readonly specVersion: number;
  readonly run: string;
  readonly step: number | null;
  readonly mode: string;
  readonly verdict: string | null;
  readonly relativeDifference: number | null;
  readonly finishedAt: Date | null;
  readonly tensors: { readonly name: string; readonly relativeDifference: number; readonly verdict: string }[];
}

/** Which finished checks a history lists. */
export interface HistoryFilter {
  readonly model?: string;
  readonly run?: string;
  readonly verdict?: string;
  readonly mode?: string;
  readonly stepFrom?: number;
  readonly stepTo?: number;
  /** finished at or after this time (ISO 8601) */
  readonly since?: string;
}

/** Checks across training checkpoints, in the database. */
export class HistoryRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Stores a finished check with its tensors, worst coordinates and diagnoses, in one
   * transaction, and returns its id. With an `id` (a journal entry's), a check already stored
   * under it is kept. Like the cluster, the history holds one check per checkpoint, options,
   * run, step and spec version: the same check again returns the one stored first.
   */
  async recordFinishedCheck(check: FinishedCheck, id?: string): Promise<string> {
    const { report } = check;
    return this.prisma.$transaction(async (tx) => {
      if (id !== undefined && (await tx.check.findUnique({ where: { id }, select: { id: true } }))) return id;
      // a changed spec under the same name is the model's next version; the check keeps its own
      const { model, version } = await modelVersionFor(tx, check.model.name, check.model.spec);
      const checkpoint = await tx.checkpoint.upsert({
        where: { modelId_contentHash: { modelId: model.id, contentHash: check.checkpoint.contentHash } },
        create: {
          modelId: model.id,
          contentHash: check.checkpoint.contentHash,
          step: check.checkpoint.step,
          dtype: check.checkpoint.dtype,
          sizeBytes: BigInt(check.checkpoint.sizeBytes),
        },
        update: {},
      });
      const run = check.run ?? DEFAULT_RUN;
      const step = check.step === undefined ? check.checkpoint.step : check.step;
      const optionsHash = canonicalHash(check.options);
      const same = await tx.check.findFirst({ where: { checkpointId: checkpoint.id, optionsHash, run, step, specVersion: version, status: "done" }, select: { id: true }, orderBy: { createdAt: "asc" } });
      if (same) return same.id;
      const created = await tx.check.create({
        data: {
          id,
          modelId: model.id,
          checkpointId: checkpoint.id,
          run,
          step,
          specVersion: version,
          status: "done",
          mode: report.mode,
          options: check.options as Prisma.InputJsonValue,
          optionsHash,
          backend: check.backend,
          verdict: report.verdict,
          relativeDifference: report.relativeDifference,
          report: report as unknown as Prisma.InputJsonValue,
          startedAt: check.startedAt,
          finishedAt: check.finishedAt,
          ...reportRows(report),
        },
      });
      return created.id;
    });
  }

  /**
   * Records the report of a check that ran in the cluster, unless the check was cancelled or
   * already finished meanwhile; returns whether it was recorded.
   */
  async completeCheck(checkId: string, report: Report, finishedAt: Date): Promise<boolean> {
    try {
      // One nested write (Prisma runs it in a transaction of its own): the check becomes done
      // with its rows, or, when it is no longer open, nothing is written.
      await this.prisma.check.update({
        where: { id: checkId, status: { in: ["queued", "running"] } },
        data: {
          status: "done",
          // the workers that took the shards decide it: known once the report is
          backend: backendLabel(report.compute),
          verdict: report.verdict,
          relativeDifference: report.relativeDifference,
          report: report as unknown as Prisma.InputJsonValue,
          finishedAt,
          ...reportRows(report),
        },
        select: { id: true },
      });
      return true;
    } catch (error) {
      // P2025: no open check of that id (finished, cancelled or gone)
      if ((error as { code?: string }).code === "P2025") return false;
      throw error;
    }
  }

  /**
   * The finished checks whose id is `reference` or starts with it (as the history table shows
   * the first 8 characters), at most two: one is the check, two say the prefix is ambiguous.
   */
  async findReports(reference: string): Promise<{ readonly checkId: string; readonly report: Report }[]> {
    if (!/^[0-9a-f-]{1,36}$/i.test(reference)) return [];
    const rows = await this.prisma.check.findMany({
      where: { status: "done", id: reference.length === 36 ? reference : { startsWith: reference.toLowerCase() } },
      select: { id: true, report: true },
      orderBy: { id: "asc" },
      take: 2,
    });
    return rows.filter((row) => row.report !== null).map((row) => ({ checkId: row.id, report: reportSchema.parse(row.report) }));
  }

  /** Finished checks that match the filter, ordered by model, run, then training step (unknown last), then time. */
  async history(filter: HistoryFilter = {}): Promise<HistoryEntry[]> {
    const checks = await this.prisma.check.findMany({ where: whereOf(filter), include: ENTRY_INCLUDE, orderBy: HISTORY_ORDER });
    return checks.map(entryOf);
  }

  /**
   * One page of a model's history, in the order `history` lists it, after `cursor` (a page's
   * `nextCursor`); paged by keyset, so a page never repeats or skips a check.
   */
  async historyPage(filter: HistoryFilter & { readonly model: string }, page: { readonly limit: number; readonly cursor?: string }): Promise<{ entries: HistoryEntry[]; nextCursor: string | null }> {
    const where: Prisma.CheckWhereInput[] = [whereOf(filter)];
    if (page.cursor !== undefined) where.push(afterInHistory(...(decodeCursor(page.cursor, ["string", "number|null", "date", "string"]) as [string, number | null, Date, string])));
    const checks = await this.prisma.check.findMany({ where: { AND: where }, include: ENTRY_INCLUDE, orderBy: HISTORY_ORDER, take: page.limit + 1 });
    const entries = checks.slice(0, page.limit).map(entryOf);
    const last = entries.at(-1);
    const more = checks.length > page.limit && last !== undefined;
    return { entries, nextCursor: more ? encodeCursor([last.run, last.step, last.finishedAt!.toISOString(), last.checkId]) : null };
  }
}

const ENTRY_INCLUDE = { model: true, tensors: { orderBy: { position: "asc" } } } as const;
/** model, run, step (unknown last), finishing time, then id: a total order, so that pages can resume exactly */
const HISTORY_ORDER: Prisma.CheckOrderByWithRelationInput[] = [{ model: { name: "asc" } }, { run: "asc" }, { step: { sort: "asc", nulls: "last" } }, { finishedAt: "asc" }, { id: "asc" }];

function whereOf(filter: HistoryFilter): Prisma.CheckWhereInput {
  return {
    status: "done",
    ...(filter.model !== undefined ? { model: { name: filter.model } } : {}),
    ...(filter.run !== undefined ? { run: filter.run } : {}),
    ...(filter.verdict !== undefined ? { verdict: filter.verdict } : {}),
    ...(filter.mode !== undefined ? { mode: filter.mode } : {}),
    ...(filter.stepFrom !== undefined || filter.stepTo !== undefined ? { step: { gte: filter.stepFrom, lte: filter.stepTo } } : {}),
    ...(filter.since !== undefined ? { finishedAt: { gte: new Date(filter.since) } } : {}),
  };
}

/** The checks after (run, step, finishedAt, id) in HISTORY_ORDER, within one model; an unknown step sorts last. */
function afterInHistory(run: string, step: number | null, finishedAt: Date, id: string): Prisma.CheckWhereInput {
  const later: Prisma.CheckWhereInput = { OR: [{ finishedAt: { gt: finishedAt } }, { finishedAt, id: { gt: id } }] };
  const sameRunAfter: Prisma.CheckWhereInput =
    step === null ? { step: null, ...later } : { OR: [{ step: { gt: step } }, { step: null }, { step, ...later }] };
  return { OR: [{ run: { gt: run } }, { run, ...sameRunAfter }] };
}

type EntryRow = Prisma.CheckGetPayload<{ include: typeof ENTRY_INCLUDE }>;

function entryOf(check: EntryRow): HistoryEntry {
  return {
      checkId: check.id,
      model: check.model.name,
      specVersion: check.specVersion,
      run: check.run,
      step: check.step,
      mode: check.mode,
      verdict: check.verdict,
      relativeDifference: check.relativeDifference,
      finishedAt: check.finishedAt,
      tensors: check.tensors.map((tensor) => ({ name: tensor.name, relativeDifference: tensor.relativeDifference, verdict: tensor.verdict })),
  };
}

/** A report's per-tensor figures, worst coordinates and diagnoses, as nested creates of a check (one INSERT each). */
function reportRows(report: Report) {
  return {
    tensors: {
      createMany: { data: report.tensors.map((tensor, position) => ({
        position,
        name: tensor.name,
        shape: tensor.shape,
        relativeDifference: tensor.relativeDifference,
        maxAbsError: tensor.maxAbsError,
        verdict: tensor.verdict,
        checked: tensor.checked,
        kinks: tensor.kinks,
      })) },
    },
    worst: {
      createMany: { data: report.tensors.flatMap((tensor) =>
        tensor.worst.map((coordinate, rank) => ({
          tensor: tensor.name,
          rank,
          index: coordinate.index,
          numeric: coordinate.numeric,
          analytic: coordinate.analytic,
          absError: coordinate.absError,
          relativeError: coordinate.relativeError,
        })),
      ) },
    },
    diagnoses: {
      createMany: { data: report.diagnosis.map((finding, position) => ({
        position,
        code: finding.code,
        tensors: finding.tensors,
        message: finding.message,
        evidence: finding.evidence as Prisma.InputJsonValue,
      })) },
    },
  };
}
