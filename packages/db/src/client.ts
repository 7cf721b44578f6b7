import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { lock } from "proper-lockfile";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "./generated/prisma/client.js";
import { migratePglite, migratePostgres } from "./migrate.js";

export interface CreateClientOptions {
  /** PostgreSQL connection string; when set, @prisma/adapter-pg (a node-postgres pool) is used. */
  readonly url?: string;
  /** PGlite data directory, used when `url` is not set; in memory when omitted too. */
  readonly dataDir?: string;
  /** apply pending migrations before returning */
  readonly migrate?: boolean;
}

/** How long a process waits for another one to finish with an embedded database. */
const LOCK_WAIT_MS = 60_000;

/**
 * PostgreSQL when `url` is given, else embedded PGlite (dataDir or in-memory). An embedded
 * data folder may be opened by one process at a time, so it is locked until `$disconnect()`,
 * which also closes the PGlite instance (its Prisma adapter does not).
 */
export async function createClient(opts: CreateClientOptions = {}): Promise<PrismaClient> {
  if (opts.url) {
    if (opts.migrate) await migratePostgres(opts.url);
    return new PrismaClient({ adapter: new PrismaPg({ connectionString: opts.url }) });
  }
  const release = opts.dataDir ? await lockDataDir(opts.dataDir) : async () => {};
  let db: PGlite | undefined;
  try {
    db = await PGlite.create(opts.dataDir ? { dataDir: opts.dataDir } : {});
    // The same instance for migrations and queries: PGlite allows one connection per data folder.
    if (opts.migrate) await migratePglite(db);
  } catch (error) {
    if (db && !db.closed) await db.close();
    await release();
    throw error;
  }
  const opened = db;
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(opened) });
  const disconnect = prisma.$disconnect.bind(prisma);
  prisma.$disconnect = async () => {
    try {
      await disconnect();
      if (!opened.closed) await opened.close();
    } finally {
      await release();
    }
  };
  return prisma;
}

/** Waits for, then takes, the data folder's lock; a lock left by a dead process goes stale. */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });
  try {
    // The lock is a folder beside the data folder (`<dataDir>.lock`), not inside PGlite's files.
    return await lock(dataDir, {
      stale: 10_000,
      update: 2_000,
      retries: { retries: Math.ceil(LOCK_WAIT_MS / 500), minTimeout: 200, maxTimeout: 500 },
    });
  } catch (error) {
    throw new Error(`${dataDir} is in use by another process (${(error as Error).message})`, { cause: error });
  }
}

/** Whether the database answers a query now (readiness). */
export async function databaseAnswers(prisma: PrismaClient): Promise<boolean> {
  return prisma.$queryRaw`SELECT 1`.then(
    () => true,
    () => false,
  );
}
