import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// One data layer: the applications reach the database only through this package's
// repositories. A query written against Prisma anywhere in apps/ fails this test.

const APPS = fileURLToPath(new URL("../../../apps/", import.meta.url));
/** `prisma.check.findMany(`, `tx.model.upsert(`, `this.prisma.$queryRaw`…: Prisma's query API on a client or a transaction. */
const RAW_PRISMA = /\b(?:prisma|tx|client)\s*\.\s*(?:\$queryRaw|\$executeRaw|\$transaction|[a-z][A-Za-z]*\s*\.\s*(?:findMany|findFirst|findUnique|findFirstOrThrow|findUniqueOrThrow|create|createMany|update|updateMany|upsert|delete|deleteMany|count|aggregate|groupBy)\b)/;

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const found = await Promise.all(
    entries.map(async (entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === "node_modules" || entry.name === "dist" ? [] : sources(path);
      return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [path] : [];
    }),
  );
  return found.flat();
}

describe("the data layer", () => {
  it("is the only code that queries the database: no Prisma query in apps/", async () => {
    const files = await sources(APPS);
    expect(files.length).toBeGreaterThan(20);
    const offending: string[] = [];
    for (const file of files) {
      (await readFile(file, "utf8")).split("\n").forEach((line, index) => {
        if (RAW_PRISMA.test(line)) offending.push(`${relative(APPS, file)}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(offending).toEqual([]);
  });

  it("would see one", () => {
    expect(RAW_PRISMA.test("    const row = await this.prisma.check.findUnique({ where: { id } });")).toBe(true);
    expect(RAW_PRISMA.test("      await tx.$executeRaw`SELECT 1`;")).toBe(true);
    expect(RAW_PRISMA.test("    const rows = await checks.list(query);")).toBe(false);
  });
});
