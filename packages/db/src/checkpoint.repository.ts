import type { PrismaClient } from "./generated/prisma/client.js";

export interface CheckpointRow {
  readonly id: string;
  readonly modelId: string;
  readonly contentHash: string;
  readonly step: number | null;
  readonly dtype: string;
  readonly sizeBytes: bigint;
  readonly createdAt: Date;
}

export interface NewCheckpoint {
  readonly modelId: string;
  readonly contentHash: string;
  readonly step: number | null;
  readonly dtype: string;
  readonly sizeBytes: number;
}

export class CheckpointRepository {
  constructor(private readonly prisma: PrismaClient) {}

  find(modelId: string, contentHash: string): Promise<CheckpointRow | null> {
    return this.prisma.checkpoint.findUnique({ where: { modelId_contentHash: { modelId, contentHash } } });
  }

  /** Any checkpoint with these bytes, whichever model it was uploaded for. */
  findByHash(contentHash: string): Promise<CheckpointRow | null> {
    return this.prisma.checkpoint.findFirst({ where: { contentHash } });
  }

  /** Stores the checkpoint once per model and hash; a concurrent duplicate gets the existing row. */
  async create(checkpoint: NewCheckpoint): Promise<{ row: CheckpointRow; created: boolean }> {
    try {
      return { row: await this.prisma.checkpoint.create({ data: { ...checkpoint, sizeBytes: BigInt(checkpoint.sizeBytes) } }), created: true };
    } catch (error) {
      if ((error as { code?: string }).code !== "P2002") throw error;
      return { row: (await this.find(checkpoint.modelId, checkpoint.contentHash))!, created: false };
    }
  }

  list(modelId: string): Promise<CheckpointRow[]> {
    return this.prisma.checkpoint.findMany({ where: { modelId }, orderBy: [{ step: { sort: "asc", nulls: "last" } }, { createdAt: "asc" }] });
  }
}
