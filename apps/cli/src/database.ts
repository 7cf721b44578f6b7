import { mkdir } from "node:fs/promises";
import type { ApiKeyRepository, HistoryRepository } from "@gradcheck/db";
import type { CliConfig } from "./config.js";

export interface Repositories {
  readonly history: HistoryRepository;
  readonly keys: ApiKeyRepository;
}

/**
 * Opens the database (PostgreSQL when configured, else the embedded one), migrated, for one
 * task. Prisma and PGlite are loaded only here: they cost a third of a second at start-up.
 */
export async function withDatabase<T>(config: CliConfig, task: (repositories: Repositories) => Promise<T>): Promise<T> {
  const db = await import("@gradcheck/db");
  if (!config.databaseUrl) await mkdir(config.dataDir, { recursive: true });
  const prisma = await db.createClient(config.databaseUrl ? { url: config.databaseUrl, migrate: true } : { dataDir: config.dataDir, migrate: true });
  try {
    return await task({ history: new db.HistoryRepository(prisma), keys: new db.ApiKeyRepository(prisma) });
  } finally {
    await prisma.$disconnect();
  }
}

/** Where the history lives, for messages. */
export function historyLocation(config: CliConfig): string {
  return config.databaseUrl ? "the PostgreSQL history (DATABASE_URL)" : `the history in ${config.dataDir}`;
}
