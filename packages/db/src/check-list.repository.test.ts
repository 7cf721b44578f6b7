import { checkListQuerySchema, type CheckListQuery, type CheckSummary } from "@gradcheck/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckListRepository, InvalidCursorError } from "./check-list.repository.js";
import { createClient } from "./client.js";
import type { PrismaClient } from "./generated/prisma/client.js";
import { createTestDatabase, type TestDatabase } from "./testing.js";

const COUNT = 1_000;
const RUNS = ["default", "lr-1e-3", "lr-3e-4"];
const STATUSES = ["done", "done", "done", "failed", "queued", "cancelled"];
const VERDICTS = ["pass", "warn", "fail"];
const MODES = ["full", "sample", "directional"];

/** The i-th stored check: every filtered field varies, and creation times repeat (ties are ordered by id). */
function row(i: number, modelId: string, checkpointId: string) {
  const status = STATUSES[i % STATUSES.length];
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    modelId,
    checkpointId,
    run: RUNS[i % RUNS.length],
    step: i % 10 === 0 ? null : (i * 37) % 500,
    status,
    mode: MODES[(i >> 1) % MODES.length],
    options: {},
    optionsHash: String(i),
    backend: "cpu",
    verdict: status === "done" ? VERDICTS[(i >> 2) % VERDICTS.length] : null,
    createdAt: new Date(Date.UTC(2026, 11, 1) + Math.floor(i / 3) * 1000),
  };
}

describe("CheckListRepository over 1,000 stored checks", () => {
  let database: TestDatabase;
  let prisma: PrismaClient;
  let listing: CheckListRepository;
  let stored: ReturnType<typeof row>[];

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = await createClient({ url: database.url, migrate: true });
    listing = new CheckListRepository(prisma);
    const models = await Promise.all(["a", "b"].map((name) => prisma.model.create({ data: { name, spec: {} } })));
    const checkpoints = await Promise.all(models.map((model) => prisma.checkpoint.create({ data: { modelId: model.id, contentHash: `hash-${model.name}`, dtype: "F64", sizeBytes: 1n } })));
    stored = Array.from({ length: COUNT }, (_, i) => row(i, models[i % 7 === 0 ? 1 : 0].id, checkpoints[i % 7 === 0 ? 1 : 0].id));
    await prisma.check.createMany({ data: stored });
  }, 60_000);
  afterAll(async () => {
    await prisma.$disconnect();
    await database.drop();
  });

  /** Every page of a query, followed by its cursors. */
  async function allPages(query: Record<string, string>): Promise<{ checks: CheckSummary[]; pages: number }> {
    const checks: CheckSummary[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await listing.list(checkListQuerySchema.parse(cursor ? { ...query, cursor } : query));
      checks.push(...page.checks);
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null);
    return { checks, pages };
  }

  /** What the query should list, from the rows themselves: newest first, ties by id. */
  function expected(keep: (stored: ReturnType<typeof row>, index: number) => boolean): string[] {
    return stored
      .filter(keep)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
      .map((check) => check.id);
  }

  it("pages through every check once, newest first, ties in time ordered by id", async () => {
    const { checks, pages } = await allPages({ limit: "37" });
    expect(checks.map((check) => check.id)).toEqual(expected(() => true));
    expect(pages).toBe(Math.ceil(COUNT / 37));
  });

  it.each<[string, Record<string, string>, (check: ReturnType<typeof row>, i: number) => boolean]>([
    ["a run", { run: "lr-1e-3" }, (check) => check.run === "lr-1e-3"],
    ["a verdict", { verdict: "fail" }, (check) => check.verdict === "fail"],
    ["a status and a mode", { status: "failed", mode: "sample" }, (check) => check.status === "failed" && check.mode === "sample"],
    ["a step range", { stepFrom: "100", stepTo: "199" }, (check) => check.step !== null && check.step >= 100 && check.step <= 199],
    ["a time", { since: "2026-12-01T00:04:00Z" }, (check) => check.createdAt.getTime() >= Date.UTC(2026, 11, 1, 0, 4)],
    ["a model with the rest", { model: "b", run: "default", verdict: "pass" }, (check, i) => i % 7 === 0 && check.run === "default" && check.verdict === "pass"],
  ])("filters by %s, paged alike", async (_, query, keep) => {
    const want = expected(keep);
    expect(want.length).toBeGreaterThan(0);
    expect((await allPages({ ...query, limit: "23" })).checks.map((check) => check.id)).toEqual(want);
  });

  it("says what a summary holds", async () => {
    const { checks } = await listing.list(checkListQuerySchema.parse({ limit: "1" }));
    const newest = stored[COUNT - 1];
    expect(checks).toEqual([
      { id: newest.id, model: "a", specVersion: 1, run: newest.run, step: newest.step, checkpoint: "hash-a", status: newest.status, mode: newest.mode, verdict: newest.verdict, relativeDifference: null, backend: "cpu", createdAt: newest.createdAt.toISOString(), finishedAt: null },
    ]);
  });

  it("refuses a cursor it did not give, and a query that does not fit", async () => {
    await expect(listing.list({ limit: 5, cursor: "not-a-cursor" } as CheckListQuery)).rejects.toBeInstanceOf(InvalidCursorError);
    for (const query of [{ limit: "0" }, { limit: "501" }, { stepFrom: "-1" }, { since: "yesterday" }, { verdict: "maybe" }, { colour: "red" }]) {
      expect(checkListQuerySchema.safeParse(query).success).toBe(false);
    }
  });
});
