import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { createClient, type PrismaClient } from "@gradcheck/db";
import type { CliConfig } from "./config.js";

/** Opens the database (PostgreSQL when configured, else the embedded one), migrated, for one task. */
export async function withDatabase<T>(config: CliConfig, task: (prisma: PrismaClient) => Promise<T>): Promise<T> {
  if (!config.databaseUrl) await mkdir(config.dataDir, { recursive: true });
  const prisma = await createClient(config.databaseUrl ? { url: config.databaseUrl, migrate: true } : { dataDir: config.dataDir, migrate: true });
  try {
    return await task(prisma);
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
