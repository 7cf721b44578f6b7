import { copyFile, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createClient } from "./client.js";
import type { PrismaClient } from "./generated/prisma/client.js";
import { HistoryRepository } from "./history.repository.js";
import { journalDir, journalFinishedCheck, takeJournal } from "./journal.js";
import { finished } from "./test-support/finished-check.js";

describe("the embedded history's journal", () => {
  let root: string;
  let dataDir: string;
  let prisma: PrismaClient;
  let repository: HistoryRepository;
  let folders = 0;

  // One database for every test (creating one takes seconds); each test its own journal.
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "gradcheck-journal-"));
    prisma = await createClient({ dataDir: join(root, "database"), migrate: true });
    repository = new HistoryRepository(prisma);
  }, 120_000);
  afterAll(async () => {
    await prisma?.$disconnect();
    await rm(root, { recursive: true, force: true });
  }, 60_000);
  beforeEach(() => {
    dataDir = join(root, `history-${++folders}`);
  });

  /** A finished check of a model of this test's own. */
  const check = (step: number, hash: string, verdict: "pass" | "fail", relativeDifference: number) => {
    const base = finished(step, hash, verdict, relativeDifference);
    return { ...base, model: { ...base.model, name: `journal-${folders}` } };
  };

  it("holds whole files only, and the database takes them in, oldest first, each once", async () => {
    const first = await journalFinishedCheck(dataDir, { ...check(100, "a".repeat(64), "pass", 1e-9), finishedAt: new Date("2026-11-24T10:00:02Z") });
    const second = await journalFinishedCheck(dataDir, { ...check(200, "b".repeat(64), "fail", 0.3), finishedAt: new Date("2026-11-24T11:00:00Z") });
    expect((await readdir(journalDir(dataDir))).every((name) => name.endsWith(".json"))).toBe(true);

    expect(await takeJournal(dataDir, repository)).toEqual({ taken: 2, rejected: [] });
    expect(await readdir(journalDir(dataDir))).toEqual([]);
    const entries = await repository.history({ model: `journal-${folders}` });
    expect(entries.map((entry) => [entry.checkId, entry.step, entry.verdict])).toEqual([
      [first, 100, "pass"],
      [second, 200, "fail"],
    ]);
    // dates come back as dates, the report whole
    const stored = await prisma.check.findUniqueOrThrow({ where: { id: second } });
    expect(stored.finishedAt?.toISOString()).toBe("2026-11-24T11:00:00.000Z");
    expect((stored.report as { tensors: unknown[] }).tensors).toHaveLength(2);
    expect(await takeJournal(dataDir, repository)).toEqual({ taken: 0, rejected: [] });
  });

  it("stores nothing twice when a crash left an entry that was already stored", async () => {
    const id = await journalFinishedCheck(dataDir, check(100, "c".repeat(64), "pass", 1e-9));
    const [name] = await readdir(journalDir(dataDir));
    const kept = join(root, "kept.json");
    await copyFile(join(journalDir(dataDir), name!), kept);
    await takeJournal(dataDir, repository);
    // as if the process died between storing the check and deleting its entry
    await copyFile(kept, join(journalDir(dataDir), name!));
    expect((await takeJournal(dataDir, repository)).taken).toBe(1);
    expect(await prisma.check.count({ where: { model: { name: `journal-${folders}` } } })).toBe(1);
    expect(await prisma.check.count({ where: { id } })).toBe(1);
  });

  it("sets aside an entry it cannot read, saying which and why, and takes in the rest", async () => {
    await journalFinishedCheck(dataDir, check(100, "d".repeat(64), "pass", 1e-9));
    await writeFile(join(journalDir(dataDir), "0000-broken.json"), '{"version": 1, "id": "x"');
    await writeFile(join(journalDir(dataDir), "0001-other.json"), JSON.stringify({ version: 7, id: "y", check: {} }));
    // a writer that has not renamed its file yet: not an entry
    await writeFile(join(journalDir(dataDir), ".0002-pending.tmp"), "{");
    const { taken, rejected } = await takeJournal(dataDir, repository);
    expect(taken).toBe(1);
    expect(rejected).toHaveLength(2);
    expect(rejected[0]).toMatch(/0000-broken\.json: .*JSON/);
    expect(rejected[1]).toMatch(/0001-other\.json: journal entry version 7, expected 1/);
    expect((await readdir(journalDir(dataDir))).sort()).toEqual([".0002-pending.tmp", "0000-broken.json.rejected", "0001-other.json.rejected"]);
  });

  it("lies beside the data folder, whatever slash ends its name", () => {
    expect(journalDir(`${dataDir}/`)).toBe(`${dataDir}.journal`);
    expect(journalDir(dataDir)).toBe(`${dataDir}.journal`);
  });

  it("is no error where there is no journal", async () => {
    expect(await takeJournal(dataDir, repository)).toEqual({ taken: 0, rejected: [] });
  });
});
