import { backendLabel, type Report } from "@gradcheck/contracts";
import { canonicalHash } from "./canonical-hash.js";
import type { Prisma, PrismaClient } from "./generated/prisma/client.js";

/** A finished check, with what identifies its model and checkpoint. */
export interface FinishedCheck {
  readonly model: { readonly name: string; readonly spec: unknown };
  readonly checkpoint: { readonly contentHash: string; readonly step: number | null; readonly dtype: string; readonly sizeBytes: number };
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
  readonly step: number | null;
  readonly mode: string;
  readonly verdict: string | null;
  readonly relativeDifference: number | null;
  readonly finishedAt: Date | null;
  readonly tensors: { readonly name: string; readonly relativeDifference: number; readonly verdict: string }[];
}

/** Checks across training checkpoints, in the database. */
export class HistoryRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Stores a finished check with its tensors, worst coordinates and diagnoses, in one
   * transaction. With an `id` (a journal entry's), a check already stored under it is kept.
   */
  async recordFinishedCheck(check: FinishedCheck, id?: string): Promise<string> {
    const { report } = check;
    return this.prisma.$transaction(async (tx) => {
      if (id !== undefined && (await tx.check.findUnique({ where: { id }, select: { id: true } }))) return id;
      const model = await tx.model.upsert({
        where: { name: check.model.name },
        create: { name: check.model.name, spec: check.model.spec as Prisma.InputJsonValue },
        update: { spec: check.model.spec as Prisma.InputJsonValue },
      });
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
      const created = await tx.check.create({
        data: {
          id,
          modelId: model.id,
          checkpointId: checkpoint.id,
          status: "done",
          mode: report.mode,
          options: check.options as Prisma.InputJsonValue,
          optionsHash: canonicalHash(check.options),
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

  /** Finished checks, of one model or all, ordered by model, then training step (unknown last), then time. */
  async history(modelName?: string): Promise<HistoryEntry[]> {
    const checks = await this.prisma.check.findMany({
      where: { status: "done", ...(modelName ? { model: { name: modelName } } : {}) },
      include: { model: true, checkpoint: true, tensors: { orderBy: { position: "asc" } } },
      orderBy: [{ model: { name: "asc" } }, { checkpoint: { step: { sort: "asc", nulls: "last" } } }, { finishedAt: "asc" }],
    });
    return checks.map((check) => ({
      checkId: check.id,
      model: check.model.name,
      step: check.checkpoint.step,
      mode: check.mode,
      verdict: check.verdict,
      relativeDifference: check.relativeDifference,
      finishedAt: check.finishedAt,
      tensors: check.tensors.map((tensor) => ({ name: tensor.name, relativeDifference: tensor.relativeDifference, verdict: tensor.verdict })),
    }));
  }
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
