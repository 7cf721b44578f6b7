import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyRepository } from "./api-key.repository.js";
import { createClient } from "./client.js";
import type { PrismaClient } from "./generated/prisma/client.js";
import { createTestDatabase, type TestDatabase } from "./testing.js";

describe("ApiKeyRepository", () => {
  let database: TestDatabase;
  let prisma: PrismaClient;
  let keys: ApiKeyRepository;
  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = await createClient({ url: database.url, migrate: true });
    keys = new ApiKeyRepository(prisma);
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await database.drop();
  });

  it("stores only a hash, and recognises the key it returned", async () => {
    const created = await keys.create("ci", "submitter");
    expect(created.key).toMatch(/^gck_[A-Za-z0-9_-]{43}$/);
    const stored = await prisma.apiKey.findUniqueOrThrow({ where: { id: created.id } });
    expect(JSON.stringify(stored)).not.toContain(created.key);
    expect(await keys.verify(created.key)).toEqual({ id: created.id, name: "ci", role: "submitter" });
  });

  it("does not recognise an unknown or a revoked key", async () => {
    const created = await keys.create("old", "admin");
    expect(await keys.verify(`${created.key}x`)).toBeNull();
    await keys.revoke(created.id);
    expect(await keys.verify(created.key)).toBeNull();
  });

  it("gives every key a different value", async () => {
    const a = await keys.create("a", "viewer");
    const b = await keys.create("b", "viewer");
    expect(a.key).not.toBe(b.key);
  });
});
