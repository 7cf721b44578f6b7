#!/usr/bin/env node
// Offline migration SQL generator (no Prisma binaries, no network).
// Runs Prisma's WASM schema engine over an in-memory PGlite and diffs
//   FROM: the SQL files already in migrations/ (replayed on a PGlite shadow db; empty if none)
//   TO:   prisma/schema.prisma
//
// Usage:
//   node scripts/migration-sql.mjs                 # print the SQL of the next migration to stdout
//   node scripts/migration-sql.mjs --name add_foo  # write migrations/<NNNN>_add_foo.sql (if non-empty)
//   node scripts/migration-sql.mjs --check         # exit 2 if schema and migrations differ (CI drift check)
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const schemaPath = path.join(root, "prisma", "schema.prisma");
const migrationsDir = path.join(root, "migrations");

const args = process.argv.slice(2);
const nameIdx = args.indexOf("--name");
const name = nameIdx >= 0 ? args[nameIdx + 1] : undefined;
const check = args.includes("--check");

// @prisma/schema-engine-wasm is built with wasm-bindgen --target bundler: its entry does
// `import * as wasm from "./schema_engine_bg.wasm"`, which plain Node cannot load.
// Instantiate the .wasm by hand with the JS glue as its import object (what the Prisma CLI does).
async function loadSchemaEngine() {
  const require = createRequire(import.meta.url);
  const glue = await import("@prisma/schema-engine-wasm/schema_engine_bg");
  const wasmPath = path.join(path.dirname(require.resolve("@prisma/schema-engine-wasm/schema_engine_bg")), "schema_engine_bg.wasm");
  const module = new WebAssembly.Module(await readFile(wasmPath));
  const instance = new WebAssembly.Instance(module, { "./schema_engine_bg.js": glue });
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return glue.SchemaEngine;
}

async function listMigrations() {
  let files = [];
  try {
    files = (await readdir(migrationsDir)).filter((f) => f.endsWith(".sql")).sort();
  } catch {
    /* no migrations dir yet */
  }
  return Promise.all(
    files.map(async (f) => ({
      name: f,
      sql: await readFile(path.join(migrationsDir, f), "utf8"),
    })),
  );
}

const schema = await readFile(schemaPath, "utf8");
const migrations = await listMigrations();
const SchemaEngine = await loadSchemaEngine();

const db = new PGlite(); // in-memory; only a connection for the engine, nothing is written
const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPGlite(db));
const engine = await SchemaEngine.new(
  { datamodels: [[schemaPath, schema]] },
  (log) => process.env.DEBUG_SCHEMA_ENGINE && console.error(log),
  adapter,
);

const from =
  migrations.length === 0
    ? { tag: "empty" }
    : {
        tag: "migrations",
        baseDir: migrationsDir,
        // The engine reads the connector from the lockfile; we keep no lockfile on disk.
        lockfile: { path: "migration_lock.toml", content: 'provider = "postgresql"\n' },
        shadowDbInitScript: "",
        migrationDirectories: migrations.map((m) => ({
          path: m.name.replace(/\.sql$/, ""),
          migrationFile: { path: "migration.sql", content: { tag: "ok", value: m.sql } },
        })),
      };

const result = await engine.diff({
  from,
  to: { tag: "schemaDatamodel", files: [{ path: schemaPath, content: schema }] },
  script: true,
  exitCode: true, // exitCode 2 = non-empty diff
  filters: { externalTables: [], externalEnums: [] },
});
engine.free();
await db.close();

const sql = result.stdout ?? "";
const empty = result.exitCode !== 2;

if (check) {
  if (!empty) {
    console.error("Schema and migrations differ. Pending SQL:\n" + sql);
    process.exit(2);
  }
  console.error("Migrations are up to date with the schema.");
} else if (name) {
  if (empty) {
    console.error("No changes: nothing written.");
  } else {
    const next = String(migrations.length + 1).padStart(4, "0");
    const file = path.join(migrationsDir, `${next}_${name.replace(/[^A-Za-z0-9_]/g, "_")}.sql`);
    await mkdir(migrationsDir, { recursive: true });
    await writeFile(file, sql);
    console.error(`Wrote ${path.relative(root, file)}`);
  }
} else {
  process.stdout.write(sql);
}
