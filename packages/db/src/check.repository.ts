import type { Prisma, PrismaClient } from "./generated/prisma/client.js";

const withNames = { model: { select: { name: true } }, checkpoint: { select: { contentHash: true, step: true } } } as const;
export type CheckRow = Prisma.CheckGetPayload<{ include: typeof withNames }>;

export interface NewCheck {
  readonly modelId: string;
  readonly checkpointId: string;
  readonly run: string;
  readonly step: number | null;
  readonly checkpointFile: string | null;
  readonly specVersion: number;
  readonly mode: string;
  readonly options: Record<string, unknown>;
  readonly optionsHash: string;
  readonly backend: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Statuses of a check that is still to run or running. */
const OPEN = ["queued", "running"];

export class CheckRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** The check of this id; null at once for an id that is not a UUID, as every check id is. */
  async find(id: string): Promise<CheckRow | null> {
    if (!UUID.test(id)) return null;
    return this.prisma.check.findUnique({ where: { id }, include: withNames });
  }

  /** The check of these options on this checkpoint, in this run at this step, that is queued, running or done, if any. */
  findExisting(check: Pick<NewCheck, "checkpointId" | "optionsHash" | "run" | "step" | "specVersion">, client: Pick<PrismaClient, "check"> = this.prisma): Promise<CheckRow | null> {
    const { checkpointId, optionsHash, run, step, specVersion } = check;
    return client.check.findFirst({
      where: { checkpointId, optionsHash, run, step, specVersion, status: { in: [...OPEN, "done"] } },
      include: withNames,
      orderBy: { createdAt: "desc" },
    });
  }

  /**
   * The existing check (created: false), or a new queued one. Concurrent identical submissions
   * are serialized by an advisory lock, so only one of them creates it.
   */
  async findOrCreate(check: NewCheck): Promise<{ row: CheckRow; created: boolean }> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${check.checkpointId + check.optionsHash}))`;
      const existing = await this.findExisting(check, tx);
      if (existing) return { row: existing, created: false };
      const now = new Date();
      const row = await tx.check.create({
        data: { ...check, options: check.options as Prisma.InputJsonValue, status: "queued", createdAt: now, startedAt: now },
        include: withNames,
      });
      return { row, created: true };
    });
  }

  /** Removes a check that never reached the queue. */
  async remove(id: string): Promise<void> {
    await this.prisma.check.deleteMany({ where: { id } });
  }

  /** Shards stored for a check, and the items they cover. */
  async shardTotals(id: string): Promise<{ shards: number; items: number }> {
    const rows = await this.prisma.shardResult.findMany({ where: { checkId: id }, select: { start: true, end: true } });
    return { shards: rows.length, items: rows.reduce((sum, row) => sum + row.end - row.start, 0) };
  }

  /** A check with its model, the spec of the version it runs under, and its checkpoint's row, for its aggregation. */
  async findWithSpec(id: string) {
    const check = await this.prisma.check.findUnique({ where: { id }, include: { model: true, checkpoint: true } });
    if (!check) return null;
    const version = await this.prisma.modelVersion.findUnique({ where: { modelId_version: { modelId: check.modelId, version: check.specVersion } }, select: { spec: true } });
    return { ...check, spec: version?.spec ?? check.model.spec };
  }

  /** How many checks there are of each status. */
  async countByStatus(): Promise<Partial<Record<string, number>>> {
    const groups = await this.prisma.check.groupBy({ by: ["status"], _count: { _all: true } });
    return Object.fromEntries(groups.map((group) => [group.status, group._count._all]));
  }

  /** The checks still queued or running, oldest first: what the status keeper watches. */
  async open(): Promise<Pick<CheckRow, "id" | "status" | "createdAt">[]> {
    return this.prisma.check.findMany({ where: { status: { in: OPEN } }, select: { id: true, status: true, createdAt: true }, orderBy: { createdAt: "asc" } });
  }

  /** Marks an open check failed; a finished or cancelled one is left alone. */
  async markFailed(id: string, error: string): Promise<void> {
    await this.prisma.check.updateMany({ where: { id, status: { in: OPEN } }, data: { status: "failed", error, finishedAt: new Date() } });
  }

  async markRunning(id: string): Promise<void> {
    await this.prisma.check.updateMany({ where: { id, status: "queued" }, data: { status: "running" } });
  }

  /** Cancels an open check; false when it had already finished. */
  async cancel(id: string): Promise<boolean> {
    const { count } = await this.prisma.check.updateMany({ where: { id, status: { in: OPEN } }, data: { status: "cancelled", finishedAt: new Date() } });
    return count > 0;
  }
}
