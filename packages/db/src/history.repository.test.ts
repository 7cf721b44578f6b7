import type { Report } from "@gradcheck/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "./client.js";
import type { PrismaClient } from "./generated/prisma/client.js";
import { HistoryRepository } from "./history.repository.js";
import { finished } from "./test-support/finished-check.js";
import { createTestDatabase, type TestDatabase } from "./testing.js";

const backends: [string, () => Promise<{ prisma: PrismaClient; close(): Promise<void> }>][] = [
  [
    "PostgreSQL",
    async () => {
      const database: TestDatabase = await createTestDatabase();
      const prisma = await createClient({ url: database.url, migrate: true });
      return { prisma, close: async () => (await prisma.$disconnect(), await database.drop()) };
    },
  ],
  [
    "PGlite",
    async () => {
      const prisma = await createClient({ migrate: true });
      return { prisma, close: () => prisma.$disconnect() };
    },
  ],
];

describe.each(backends)("HistoryRepository on %s", (_, open) => {
  let prisma: PrismaClient;
  let close: () => Promise<void>;
  let history: HistoryRepository;

  beforeAll(async () => {
    ({ prisma, close } = await open());
    history = new HistoryRepository(prisma);
  }, 60_000);
  afterAll(async () => {
    await close();
  });

  it("records checks across checkpoints and lists them by training step, with per-tensor figures", async () => {
    await history.recordFinishedCheck(finished(5000, "bbb", "fail", 0.2));
    await history.recordFinishedCheck(finished(0, "aaa", "pass", 1e-11));
    await history.recordFinishedCheck(finished(null, "ccc", "pass", 2e-11));
    const entries = await history.history({ model: "mlp" });
    expect(entries.map((entry) => [entry.step, entry.verdict])).toEqual([
      [0, "pass"],
      [5000, "fail"],
      [null, "pass"],
    ]);
    expect(entries[1].tensors).toEqual([
      { name: "W1", relativeDifference: 0.2, verdict: "fail" },
      { name: "b1", relativeDifference: 1e-12, verdict: "pass" },
    ]);
  });

  it("keeps one model and one checkpoint per content hash, one check per checkpoint, options, run and step, and stores the details", async () => {
    const before = await prisma.check.count();
    const id = await history.recordFinishedCheck(finished(0, "aaa", "pass", 1e-11));
    // the same check as the first test's: the one stored then
    expect(await prisma.check.count()).toBe(before);
    expect(await prisma.model.count()).toBe(1);
    expect(await prisma.checkpoint.count({ where: { contentHash: "aaa" } })).toBe(1);
    const stored = await prisma.check.findUniqueOrThrow({ where: { id }, include: { worst: true, diagnoses: true, checkpoint: true } });
    expect(stored.worst.map((w) => [w.tensor, w.index])).toEqual([["W1", [1, 4]]]);
    expect(stored.checkpoint.sizeBytes).toBe(4096n);
    expect((stored.report as unknown as Report).coordinates.total).toBe(12);
    const failing = await prisma.check.findFirstOrThrow({ where: { verdict: "fail" }, include: { diagnoses: true } });
    expect(failing.diagnoses.map((d) => [d.code, d.tensors])).toEqual([["scale", ["W1"]]]);
  });

  it("hashes equal options equally, whatever their key order", async () => {
    const checks = await prisma.check.findMany({ select: { optionsHash: true } });
    expect(new Set(checks.map((c) => c.optionsHash)).size).toBe(1);
  });

  it("keeps each run a history of its own, at the check's step, and filters by run, verdict and mode", async () => {
    const base = finished(100, "run-a", "pass", 1e-11);
    await history.recordFinishedCheck({ ...base, model: { ...base.model, name: "runs" }, run: "lr-3e-4" });
    await history.recordFinishedCheck({ ...base, model: { ...base.model, name: "runs" }, run: "lr-1e-3", step: 250 });
    const failing = finished(300, "run-b", "fail", 0.3);
    await history.recordFinishedCheck({ ...failing, model: { ...failing.model, name: "runs" }, run: "lr-1e-3" });
    const all = await history.history({ model: "runs" });
    expect(all.map((entry) => [entry.run, entry.step, entry.verdict])).toEqual([
      ["lr-1e-3", 250, "pass"],
      ["lr-1e-3", 300, "fail"],
      ["lr-3e-4", 100, "pass"],
    ]);
    expect((await history.history({ model: "runs", run: "lr-1e-3", verdict: "fail" })).map((entry) => entry.step)).toEqual([300]);
    expect(await history.history({ model: "runs", mode: "directional" })).toEqual([]);
    expect((await history.history({ model: "runs", stepFrom: 200, stepTo: 299 })).map((entry) => entry.step)).toEqual([250]);
    expect((await history.history({ model: "runs", stepFrom: 250 })).map((entry) => entry.step)).toEqual([250, 300]);
    expect(await history.history({ model: "runs", since: "2999-01-01T00:00:00Z" })).toEqual([]);
    // a check recorded without a run (an older journal entry) is in the default run, at its checkpoint's step
    expect((await history.history({ model: "mlp", run: "default" })).length).toBeGreaterThan(0);
  });

  it("finds a stored report by its check's id or a prefix of it, and nothing for what is no id", async () => {
    const id = await history.recordFinishedCheck(finished(7, "by-id", "warn", 2e-6));
    expect(await history.findReports(id)).toEqual([{ checkId: id, report: expect.objectContaining({ verdict: "warn", step: 7 }) }]);
    expect((await history.findReports(id.slice(0, 8).toUpperCase())).map((found) => found.checkId)).toEqual([id]);
    expect(await history.findReports("not-hex; drop")).toEqual([]);
    expect(await history.findReports("00000000-0000-0000-0000-000000000000")).toEqual([]);
  });

  it("keeps a changed spec under one name as the next version, with the checks made under each", async () => {
    const base = finished(1, "versioned", "pass", 1e-11);
    const spec = { ...(base.model.spec as object), l2: 0.1 };
    await history.recordFinishedCheck({ ...base, model: { name: "versioned", spec } });
    await history.recordFinishedCheck({ ...base, model: { name: "versioned", spec: { ...spec, l2: 0.2 } }, run: "b" });
    // the first spec again (keys in another order): its version, not a third
    await history.recordFinishedCheck({ ...base, model: { name: "versioned", spec: Object.fromEntries(Object.entries(spec).reverse()) }, run: "c" });
    expect((await history.history({ model: "versioned" })).map((entry) => [entry.run, entry.specVersion])).toEqual([
      ["b", 2],
      ["c", 1],
      ["default", 1],
    ]);
    const model = await prisma.model.findUniqueOrThrow({ where: { name: "versioned" }, include: { versions: { orderBy: { version: "asc" } } } });
    expect(model.versions.map((version) => (version.spec as { l2: number }).l2)).toEqual([0.1, 0.2]);
    expect((model.spec as { l2: number }).l2).toBe(0.2);
  });

  it("pages a model's history by cursor in the order it lists it, unknown steps last, ties in time by id", async () => {
    for (let i = 0; i < 40; i++) {
      const check = finished(i % 5 === 0 ? null : (i * 7) % 13, `paged-${i}`, i % 3 === 0 ? "fail" : "pass", 1e-11);
      // every check finished at the same instant: the id orders them
      await history.recordFinishedCheck({ ...check, model: { ...check.model, name: "paged" }, run: ["a", "b"][i % 2] });
    }
    const all = (await history.history({ model: "paged" })).map((entry) => entry.checkId);
    for (const [limit, filter] of [[6, {}], [1, {}], [7, { verdict: "fail" }], [50, {}]] as const) {
      const paged: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await history.historyPage({ model: "paged", ...filter }, { limit, cursor });
        paged.push(...page.entries.map((entry) => entry.checkId));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor !== undefined);
      const want = "verdict" in filter ? (await history.history({ model: "paged", ...filter })).map((entry) => entry.checkId) : all;
      expect(paged).toEqual(want);
      expect(pages).toBe(Math.max(1, Math.ceil(want.length / limit)));
    }
    await expect(history.historyPage({ model: "paged" }, { limit: 5, cursor: "bm90IG91cnM" })).rejects.toThrow("is not one a listing gave");
  });

  it("lists nothing for an unknown model", async () => {
    expect(await history.history({ model: "unknown" })).toEqual([]);
  });
});
