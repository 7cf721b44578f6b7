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

  it("lists every key without the key itself, revoked ones with when", async () => {
    const active = await keys.create("listed-active", "worker");
    const revoked = await keys.create("listed-revoked", "viewer");
    await keys.revoke(revoked.id);
    const listed = await keys.list();
    expect(JSON.stringify(listed)).not.toContain(active.key.slice(10));
    expect(listed.find((key) => key.id === active.id)).toMatchObject({ name: "listed-active", role: "worker", prefix: active.key.slice(0, 10), revokedAt: null });
    expect(listed.find((key) => key.id === revoked.id)?.revokedAt).toBeInstanceOf(Date);
  });

  it("revokes by id, by the prefix that names one key, or by the key; says when it is unknown, too short or revoked already", async () => {
    const byKey = await keys.create("by-key", "viewer");
    expect(await keys.revoke(byKey.key)).toMatchObject({ outcome: "revoked", key: { id: byKey.id } });
    const created = await keys.create("by-prefix", "submitter");
    expect(await keys.revoke(created.key.slice(0, 9))).toEqual({ outcome: "too-short", needed: 10 });
    const byPrefix = await keys.revoke(`${created.key.slice(0, 10)}…`);
    expect(byPrefix).toMatchObject({ outcome: "revoked", key: { id: created.id } });
    expect(await keys.verify(created.key)).toBeNull();
    const again = await keys.revoke(created.id);
    expect(again).toMatchObject({ outcome: "already-revoked" });
    expect(again.outcome === "already-revoked" && byPrefix.outcome === "revoked" && again.key.revokedAt?.getTime()).toBe(byPrefix.outcome === "revoked" && byPrefix.key.revokedAt?.getTime());
    expect(await keys.revoke("00000000-0000-0000-0000-000000000000")).toEqual({ outcome: "unknown" });
    expect(await keys.revoke("gck_")).toEqual({ outcome: "too-short", needed: 10 });
    expect(await keys.revoke(`${created.key}x`)).toEqual({ outcome: "unknown" });
    expect(await keys.revoke("not-a-uuid")).toEqual({ outcome: "unknown" });
  });

  it("gives every key a different value", async () => {
    const a = await keys.create("a", "viewer");
    const b = await keys.create("b", "viewer");
    expect(a.key).not.toBe(b.key);
  });
});
