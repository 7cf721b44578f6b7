// The embedded history's journal. A finished check becomes one JSON file in
// `<dataDir>.journal/`, written whole (a temporary name, fsync, rename) in milliseconds and
// without the database: starting PGlite and Prisma costs more than a small check itself. The
// database takes the journal in whenever it is next opened (`takeJournal`), so every reader
// sees every check. This module loads neither PGlite nor Prisma.
import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { runNameSchema, stepSchema } from "@gradcheck/contracts";
import type { FinishedCheck } from "./history.repository.js";

const VERSION = 1;
/** A temporary file this old was left by a writer that died before its rename. */
const ABANDONED_MS = 10 * 60_000;

/** The journal folder of an embedded data folder: beside it, as its lock is (never inside, whatever slash ends the name). */
export const journalDir = (dataDir: string): string => `${resolve(dataDir)}.journal`;

/** Appends a finished check to the journal; returns the id its check will have in the history. */
export async function journalFinishedCheck(dataDir: string, check: FinishedCheck): Promise<string> {
  const id = randomUUID();
  const dir = journalDir(dataDir);
  await mkdir(dir, { recursive: true });
  // the file names sort in the order the checks finished
  const name = `${check.finishedAt.toISOString().replace(/[:.]/g, "-")}-${id}`;
  const temporary = join(dir, `.${name}.tmp`);
  const handle = await open(temporary, "wx");
  try {
    await handle.writeFile(JSON.stringify({ version: VERSION, id, check }));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, join(dir, `${name}.json`));
  return id;
}

/** What takes a journal entry in: the history repository's `recordFinishedCheck`. */
export interface JournalSink {
  recordFinishedCheck(check: FinishedCheck, id?: string): Promise<string>;
}

export interface TakenJournal {
  /** checks moved into the database */
  readonly taken: number;
  /** entries that could not be read, each renamed to `<name>.rejected`, with why */
  readonly rejected: readonly string[];
}

/**
 * Moves the journal's checks into the database, oldest first; the caller holds the data
 * folder (an open embedded database locks it). An entry is deleted only after its check is
 * stored, and storing is idempotent by id, so a crash in between stores nothing twice.
 */
export async function takeJournal(dataDir: string, sink: JournalSink): Promise<TakenJournal> {
  const dir = journalDir(dataDir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { taken: 0, rejected: [] };
    throw error;
  }
  let taken = 0;
  const rejected: string[] = [];
  for (const name of names.filter((entry) => entry.endsWith(".json")).sort()) {
    const path = join(dir, name);
    let entry: { id: string; check: FinishedCheck };
    try {
      entry = parseEntry(await readFile(path, "utf8"));
    } catch (error) {
      await rename(path, `${path}.rejected`);
      rejected.push(`${path}: ${(error as Error).message}`);
      continue;
    }
    await sink.recordFinishedCheck(entry.check, entry.id);
    await unlink(path);
    taken++;
  }
  for (const name of names.filter((entry) => entry.endsWith(".tmp"))) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > ABANDONED_MS) await unlink(path).catch(() => undefined);
  }
  return { taken, rejected };
}

function parseEntry(text: string): { id: string; check: FinishedCheck } {
  const entry = JSON.parse(text) as { version?: unknown; id?: unknown; check?: Record<string, unknown> };
  if (entry.version !== VERSION) throw new Error(`journal entry version ${String(entry.version)}, expected ${VERSION}`);
  if (typeof entry.id !== "string" || !entry.check || typeof entry.check !== "object") throw new Error("not a journal entry (no id or check)");
  const check = entry.check;
  for (const field of ["model", "checkpoint", "options", "report"] as const) {
    if (!check[field] || typeof check[field] !== "object") throw new Error(`journal entry without ${field}`);
  }
  const dates = [new Date(String(check.startedAt)), new Date(String(check.finishedAt))];
  if (dates.some((date) => Number.isNaN(date.getTime()))) throw new Error("journal entry without valid start and finish times");
  if (typeof check.backend !== "string") throw new Error("journal entry without a backend");
  // entries written before runs existed have neither
  if (check.run !== undefined && !runNameSchema.safeParse(check.run).success) throw new Error(`journal entry with an invalid run name ${JSON.stringify(check.run)}`);
  if (check.step !== undefined && check.step !== null && !stepSchema.safeParse(check.step).success) throw new Error(`journal entry with an invalid step ${JSON.stringify(check.step)}`);
  return { id: entry.id, check: { ...(check as unknown as FinishedCheck), startedAt: dates[0], finishedAt: dates[1] } };
}
