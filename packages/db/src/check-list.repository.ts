import type { CheckList, CheckListQuery, CheckStatus } from "@gradcheck/contracts";
import { decodeCursor, encodeCursor } from "./cursor.js";
import type { Prisma, PrismaClient } from "./generated/prisma/client.js";

export { InvalidCursorError } from "./cursor.js";

/**
 * Checks of every state, newest first, filtered and paged by keyset (creation time, then id):
 * a page never repeats or skips a check, however many are added meanwhile.
 */
export class CheckListRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async list(query: CheckListQuery): Promise<CheckList> {
    const filters: Prisma.CheckWhereInput[] = [];
    if (query.model !== undefined) filters.push({ model: { name: query.model } });
    if (query.run !== undefined) filters.push({ run: query.run });
    if (query.status !== undefined) filters.push({ status: query.status });
    if (query.verdict !== undefined) filters.push({ verdict: query.verdict });
    if (query.mode !== undefined) filters.push({ mode: query.mode });
    if (query.stepFrom !== undefined) filters.push({ step: { gte: query.stepFrom } });
    if (query.stepTo !== undefined) filters.push({ step: { lte: query.stepTo } });
    if (query.since !== undefined) filters.push({ createdAt: { gte: new Date(query.since) } });
    if (query.cursor !== undefined) {
      // the last check's creation time and id (ties in time are ordered by id)
      const [createdAt, id] = decodeCursor(query.cursor, ["date", "string"]) as [Date, string];
      filters.push({ OR: [{ createdAt: { lt: createdAt } }, { createdAt, id: { lt: id } }] });
    }
    const rows = await this.prisma.check.findMany({
      where: { AND: filters },
      include: { model: { select: { name: true } }, checkpoint: { select: { contentHash: true } } },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    return {
      checks: page.map((row) => ({
        id: row.id,
        model: row.model.name,
        specVersion: row.specVersion,
        run: row.run,
        step: row.step,
        checkpoint: row.checkpoint.contentHash,
        status: row.status as CheckStatus,
        mode: row.mode,
        verdict: row.verdict,
        relativeDifference: row.relativeDifference,
        backend: row.backend,
        createdAt: row.createdAt.toISOString(),
        finishedAt: row.finishedAt?.toISOString() ?? null,
      })),
      nextCursor: rows.length > query.limit ? encodeCursor([page[page.length - 1].createdAt.toISOString(), page[page.length - 1].id]) : null,
    };
  }
}
