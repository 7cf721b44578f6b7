import type { PrismaClient } from "./generated/prisma/client.js";
import { modelVersionFor } from "./model-versions.js";

export interface ModelRow {
  readonly id: string;
  readonly name: string;
  /** the latest version's spec */
  readonly spec: unknown;
  readonly createdAt: Date;
}

/** Concurrent registrations of two new specs can claim one version number; the loser tries again. */
const REGISTER_TRIES = 3;

export class ModelRepository {
  constructor(private readonly prisma: PrismaClient) {}

  findByName(name: string): Promise<ModelRow | null> {
    return this.prisma.model.findUnique({ where: { name } });
  }

  /** The model's version for this spec: the stored one with an equal spec (created: false), or the next (created: true). */
  async register(name: string, spec: unknown): Promise<{ row: ModelRow; version: number; created: boolean }> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { model, version, created } = await this.prisma.$transaction((tx) => modelVersionFor(tx, name, spec));
        return { row: model, version, created };
      } catch (error) {
        // P2002: a concurrent registration took the name or the version number first
        if ((error as { code?: string }).code !== "P2002" || attempt >= REGISTER_TRIES) throw error;
      }
    }
  }

  /** One version's spec, or null when the model has no such version. */
  async version(modelId: string, version: number): Promise<unknown> {
    const row = await this.prisma.modelVersion.findUnique({ where: { modelId_version: { modelId, version } }, select: { spec: true } });
    return row?.spec ?? null;
  }

  /** The model's latest version number (1 for a model stored before versions existed is backfilled). */
  async latestVersion(modelId: string): Promise<number> {
    const row = await this.prisma.modelVersion.findFirst({ where: { modelId }, orderBy: { version: "desc" }, select: { version: true } });
    return row?.version ?? 1;
  }

  list(): Promise<(ModelRow & { _count: { checkpoints: number; checks: number; versions: number } })[]> {
    return this.prisma.model.findMany({ orderBy: { name: "asc" }, include: { _count: { select: { checkpoints: true, checks: true, versions: true } } } });
  }
}
