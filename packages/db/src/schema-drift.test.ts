import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const script = fileURLToPath(new URL("../scripts/migration-sql.mjs", import.meta.url));

describe("migrations", () => {
  it("match the Prisma schema (run `pnpm migration:new NAME` after editing it)", async () => {
    const { stderr } = await promisify(execFile)(process.execPath, [script, "--check"]);
    expect(stderr).toContain("up to date");
  }, 120_000);
});
