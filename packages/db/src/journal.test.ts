import { copyFile, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createClient } from "./client.js";
import type { PrismaClient } from "./generated/prisma/client.js";
import { HistoryRepository } from "./history.repository.js";
import { journalDir, journalFinishedCheck, takeJournal } from "./journal.js";
import { finished } from "./test-support/finished-check.js";

describe("the embedded history's journal", () => {
  let root: string;
  let dataDir: string;
  const open: PrismaClient[] = [];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "gradcheck-journal-"));
    dataDir = join(root, "history");
  });
  afterEach(async () => {
    for (const prisma of open.splice(0)) await prisma.$disconnect();
    await rm(root, { recursive: true, force: true });
  });

  async function history(): Promise<{ prisma: PrismaClient; repository: HistoryRepository }> {
    const prisma = await createClient({ dataDir, migrate: true });
    open.push(prisma);
    return { prisma, repository: new HistoryRepository(prisma) };
  }

  it("holds whole files only, and the database takes them in, oldest first, each once", async () => {
    const first = await journalFinishedCheck(dataDir, { ...finished(100, "a".repeat(64), "pass", 1e-9), finishedAt: new Date("2026-11-24T10:00:02Z") });
    const second = await journalFinishedCheck(dataDir, { ...finished(200, "b".repeat(64), "fail", 0.3), finishedAt: new Date("2026-11-24T11:00:00Z") });
    expect((await readdir(journalDir(dataDir))).every((name) => name.endsWith(".json"))).toBe(true);

    const { prisma, repository } = await history();
    expect(await takeJournal(dataDir, repository)).toEqual({ taken: 2, rejected: [] });
    expect(await readdir(journalDir(dataDir))).toEqual([]);
    const entries = await repository.history("mlp");
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
    await journalFinishedCheck(dataDir, finished(100, "c".repeat(64), "pass", 1e-9));
    const [name] = await readdir(journalDir(dataDir));
    const kept = join(root, "kept.json");
    await copyFile(join(journalDir(dataDir), name!), kept);
    const { prisma, repository } = await history();
    await takeJournal(dataDir, repository);
    // as if the process died between storing the check and deleting its entry
    await copyFile(kept, join(journalDir(dataDir), name!));
    expect((await takeJournal(dataDir, repository)).taken).toBe(1);
    expect(await prisma.check.count()).toBe(1);
  });

  it("sets aside an entry it cannot read, saying which and why, and takes in the rest", async () => {
    await journalFinishedCheck(dataDir, finished(100, "d".repeat(64), "pass", 1e-9));
    await writeFile(join(journalDir(dataDir), "0000-broken.json"), '{"version": 1, "id": "x"');
    await writeFile(join(journalDir(dataDir), "0001-other.json"), JSON.stringify({ version: 7, id: "y", check: {} }));
    // a writer that has not renamed its file yet: not an entry
    await writeFile(join(journalDir(dataDir), ".0002-pending.tmp"), "{");
    const { repository } = await history();
    const { taken, rejected } = await takeJournal(dataDir, repository);
    expect(taken).toBe(1);
    expect(rejected).toHaveLength(2);
    expect(rejected[0]).toMatch(/0000-broken\.json: .*JSON/);
    expect(rejected[1]).toMatch(/0001-other\.json: journal entry version 7, expected 1/);
    expect((await readdir(journalDir(dataDir))).sort()).toEqual([".0002-pending.tmp", "0000-broken.json.rejected", "0001-other.json.rejected"]);
  });

  it("is no error where there is no journal", async () => {
    const { repository } = await history();
    expect(await takeJournal(dataDir, repository)).toEqual({ taken: 0, rejected: [] });
  });
});
