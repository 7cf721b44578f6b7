import { randomBytes } from "node:crypto";
import pg from "pg";

// Test support for packages that store checks: a database of their own on this machine's server.

/** The machine's PostgreSQL (trust auth); tests create their own databases in it. */
const ADMIN_URL = process.env.GRADCHECK_TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** A fresh, empty PostgreSQL database with a random name; drop() removes it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `gradcheck_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
