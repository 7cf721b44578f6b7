// SQL-file migrator for PostgreSQL (node-postgres) and PGlite: the Prisma CLI cannot migrate
// offline, so the project applies its own migrations/*.sql in lexical order, each in its own
// transaction, recording name and SHA-256 in "_gradcheck_migrations". Concurrent runners on
// PostgreSQL are safe: each migration takes a transaction-scoped advisory lock and re-checks.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";

export interface Migration {
  name: string;
  sql: string;
}

export interface MigrateResult {
  applied: string[];
  skipped: string[];
}

/** dist/migrate.js and src/migrate.ts both sit one level below the package root. */
export const defaultMigrationsDir = fileURLToPath(new URL("../migrations/", import.meta.url));

const TABLE = `"_gradcheck_migrations"`;
/** Any constant will do, as long as nothing else locks it: "grad" in ASCII. */
const LOCK_KEY = 0x67726164;

export async function loadMigrations(dir: string = defaultMigrationsDir): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  return Promise.all(files.map(async (name) => ({ name, sql: await readFile(`${dir}/${name}`, "utf8") })));
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** The few operations the migrator needs; one implementation per driver. */
interface Executor {
  /** Run a (possibly multi-statement) script without parameters. */
  exec(sql: string): Promise<void>;
  /** Run one parameterized statement. */
  query<R>(sql: string, params?: unknown[]): Promise<R[]>;
}
interface Driver extends Executor {
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
}

async function run(driver: Driver, migrations: Migration[]): Promise<MigrateResult> {
  // Concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL's catalog: lock first.
  await driver.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock($1)`, [LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (
      name       TEXT PRIMARY KEY,
      checksum   TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);
  });
  const result: MigrateResult = { applied: [], skipped: [] };
  for (const m of migrations) {
    const checksum = sha256(m.sql);
    const applied = await driver.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock($1)`, [LOCK_KEY]);
      const rows = await tx.query<{ checksum: string }>(`SELECT checksum FROM ${TABLE} WHERE name = $1`, [m.name]);
      if (rows.length > 0) {
        if (rows[0]!.checksum !== checksum) {
          throw new Error(`migration ${m.name} was changed after it was applied (checksum mismatch)`);
        }
        return false;
      }
      await tx.exec(m.sql);
      await tx.query(`INSERT INTO ${TABLE} (name, checksum) VALUES ($1, $2)`, [m.name, checksum]);
      return true;
    });
    (applied ? result.applied : result.skipped).push(m.name);
  }
  return result;
}

function pgExecutor(c: pg.ClientBase): Executor {
  return {
    // no params => simple query protocol => multi-statement scripts are allowed
    exec: async (sql) => void (await c.query(sql)),
    query: async <R>(sql: string, params: unknown[] = []) => (await c.query(sql, params)).rows as R[],
  };
}

/** Migrate a PostgreSQL database given a connection string, a Pool or a connected Client. */
export async function migratePostgres(
  target: string | pg.Pool | pg.ClientBase,
  migrations?: Migration[],
): Promise<MigrateResult> {
  const list = migrations ?? (await loadMigrations());
  const ownClient = typeof target === "string" ? new pg.Client({ connectionString: target }) : undefined;
  if (ownClient) await ownClient.connect();
  const client: pg.ClientBase =
    ownClient ?? (target instanceof pg.Pool ? await target.connect() : (target as pg.ClientBase));
  try {
    const ex = pgExecutor(client);
    return await run(
      {
        ...ex,
        async transaction(fn) {
          await client.query("BEGIN");
          try {
            const r = await fn(ex);
            await client.query("COMMIT");
            return r;
          } catch (e) {
            await client.query("ROLLBACK");
            throw e;
          }
        },
      },
      list,
    );
  } finally {
    if (ownClient) await ownClient.end();
    else if (target instanceof pg.Pool) (client as pg.PoolClient).release();
  }
}

/** Migrate a PGlite instance (use the same instance the app uses: PGlite is single-connection). */
export async function migratePglite(db: PGlite, migrations?: Migration[]): Promise<MigrateResult> {
  const list = migrations ?? (await loadMigrations());
  type Q = Pick<PGlite, "exec" | "query">;
  const ex = (q: Q): Executor => ({
    exec: async (sql) => void (await q.exec(sql)),
    query: async <R>(sql: string, params: unknown[] = []) => (await q.query<R>(sql, params)).rows,
  });
  return run({ ...ex(db), transaction: (fn) => db.transaction((tx) => fn(ex(tx))) }, list);
}
