import type { Prisma, PrismaClient } from "./generated/prisma/client.js";

export interface ModelRow {
  readonly id: string;
  readonly name: string;
  readonly spec: unknown;
  readonly createdAt: Date;
}

export class ModelRepository {
  constructor(private readonly prisma: PrismaClient) {}

  findByName(name: string): Promise<ModelRow | null> {
    return this.prisma.model.findUnique({ where: { name } });
  }

  /** Creates the model; returns the existing row instead when the name is taken. */
  async create(name: string, spec: unknown): Promise<{ row: ModelRow; created: boolean }> {
    const existing = await this.findByName(name);
    if (existing) return { row: existing, created: false };
    try {
      return { row: await this.prisma.model.create({ data: { name, spec: spec as Prisma.InputJsonValue } }), created: true };
    } catch (error) {
      // P2002: registered by a concurrent request.
      if ((error as { code?: string }).code !== "P2002") throw error;
      return { row: (await this.findByName(name))!, created: false };
    }
  }

  list(): Promise<(ModelRow & { _count: { checkpoints: number; checks: number } })[]> {
    return this.prisma.model.findMany({ orderBy: { name: "asc" }, include: { _count: { select: { checkpoints: true, checks: true } } } });
  }
}
