import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
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

/** SHA-256 and size of a file, read as a stream. */
export async function fileFingerprint(path: string): Promise<{ contentHash: string; sizeBytes: number }> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { contentHash: hash.digest("hex"), sizeBytes: (await stat(path)).size };
}
