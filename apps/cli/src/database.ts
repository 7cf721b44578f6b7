import { mkdir } from "node:fs/promises";
import type { ApiKeyRepository, AuditRepository, HistoryRepository, ModelRepository } from "@gradcheck/db";
import type { CliConfig } from "./config.js";
import { InputError, isInputError, ServiceError } from "./errors.js";

export interface Repositories {
  readonly history: HistoryRepository;
  readonly keys: ApiKeyRepository;
  readonly models: ModelRepository;
  readonly audits: AuditRepository;
}

/** An open database with its repositories; `close` releases it (and an embedded folder's lock). */
export interface OpenDatabase extends Repositories {
  close(): Promise<void>;
}

export interface OpenOptions {
  /** told of journal entries that could not be taken in */
  readonly warn?: (message: string) => void;
}

/**
 * Opens the database (PostgreSQL when configured, else the embedded one), migrated. Prisma
 * and PGlite are loaded only here: they cost a third of a second at start-up. The embedded
 * one first takes in the checks its journal holds, so that every reader sees them.
 */
export async function openDatabase(config: CliConfig, options: OpenOptions = {}): Promise<OpenDatabase> {
  const db = await import("@gradcheck/db");
  if (!config.databaseUrl) await mkdir(config.dataDir, { recursive: true });
  const prisma = await db.createClient(
    config.databaseUrl ? { url: config.databaseUrl, migrate: true } : { dataDir: config.dataDir, migrate: true },
  );
  const history = new db.HistoryRepository(prisma);
  if (!config.databaseUrl) {
    try {
      const { rejected } = await db.takeJournal(config.dataDir, history);
      for (const problem of rejected) options.warn?.(`a journal entry of the history could not be read and was set aside: ${problem}`);
    } catch (error) {
      await prisma.$disconnect();
      throw error;
    }
  }
  return {
    history,
    keys: new db.ApiKeyRepository(prisma),
    models: new db.ModelRepository(prisma),
    audits: new db.AuditRepository(prisma),
    close: () => prisma.$disconnect(),
  };
}

/** The database for one task, closed after it. */
export async function withDatabase<T>(config: CliConfig, task: (repositories: Repositories) => Promise<T>, options: OpenOptions = {}): Promise<T> {
  const database = await openDatabase(config, options);
  try {
    return await task(database);
  } finally {
    await database.close();
  }
}

/**
 * A database that could not be opened or used, as the error the exit codes expect: PostgreSQL
 * is a service (exit 3, like an unreachable coordinator); the embedded folder is the user's
 * to fix (exit 2).
 */
function databaseError(config: CliConfig, action: string, error: unknown): Error {
  const message = `cannot ${action} ${historyLocation(config)}: ${error instanceof Error ? error.message : String(error)}`;
  return config.databaseUrl ? new ServiceError(message) : new InputError(message);
}

/** `withDatabase` for a command: a database that cannot be used fails it with one clear error ("cannot `action` the history in …"). */
export async function withDatabaseFor<T>(config: CliConfig, action: string, task: (repositories: Repositories) => Promise<T>, options: OpenOptions = {}): Promise<T> {
  try {
    return await withDatabase(config, task, options);
  } catch (error) {
    // the task's own verdict on the user's input stands
    if (isInputError(error)) throw error;
    throw databaseError(config, action, error);
  }
}

/** Where the history lives, for messages. */
export function historyLocation(config: CliConfig): string {
  return config.databaseUrl ? "the PostgreSQL history (DATABASE_URL)" : `the history in ${config.dataDir}`;
}
