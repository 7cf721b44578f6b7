import { createClient, ensureDatabase, type PrismaClient } from "@gradcheck/db";

/** The coordinator's Prisma client: PostgreSQL, the database created if missing, migrated. */
export async function openDatabase(url: string): Promise<PrismaClient> {
  await ensureDatabase(url);
  return createClient({ url, migrate: true });
}
