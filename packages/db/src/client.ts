import { PGlite } from "@electric-sql/pglite";
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

/**
 * PostgreSQL when `url` is given, else embedded PGlite (dataDir or in-memory).
 * `$disconnect()` also closes the PGlite instance (its Prisma adapter does not).
 */
export async function createClient(opts: CreateClientOptions = {}): Promise<PrismaClient> {
  if (opts.url) {
    if (opts.migrate) await migratePostgres(opts.url);
    return new PrismaClient({ adapter: new PrismaPg({ connectionString: opts.url }) });
  }
  const db = await PGlite.create(opts.dataDir ? { dataDir: opts.dataDir } : {});
  // The same instance for migrations and queries: PGlite allows one connection per data folder.
  if (opts.migrate) await migratePglite(db);
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(db) });
  const disconnect = prisma.$disconnect.bind(prisma);
  prisma.$disconnect = async () => {
    await disconnect();
    if (!db.closed) await db.close();
  };
  return prisma;
}
