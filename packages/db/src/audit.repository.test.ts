import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditRepository, type AuditRow, type NewAlert } from "./audit.repository.js";
import { createClient } from "./client.js";
import type { PrismaClient } from "./generated/prisma/client.js";
import { createTestDatabase, type TestDatabase } from "./testing.js";

const hash = (n: number) => n.toString(16).padStart(64, "0");

describe("AuditRepository against PostgreSQL", () => {
  let database: TestDatabase;
  let prisma: PrismaClient;
  let audits: AuditRepository;
  let audit: AuditRow;

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = await createClient({ url: database.url, migrate: true });
    audits = new AuditRepository(prisma);
    const model = await prisma.model.create({ data: { name: "m", spec: {} } });
    audit = await audits.create({
      name: "nightly", modelId: model.id, run: "default", source: "directory", path: "/ckpt", schedule: { every: 1000 },
      options: {}, policy: { first: "full", then: "sample", fullEvery: null }, webhookUrl: "http://127.0.0.1:9/h", webhookSecret: "s".repeat(16),
      alertOn: ["fail"], regressionFactor: 10,
    });
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await database?.drop();
  });

  it("takes each content once, with gapless sequences, however many claim it at once", async () => {
    const claims = Array.from({ length: 24 }, (_, i) =>
      audits.claimEntry(audit.id, { contentHash: hash(i % 8), file: `f${i}`, step: i, refused: i % 8 === 7 ? "diverged" : null }, (checked) => (checked === 0 ? "full" : "sample")),
    );
    const results = await Promise.all(claims);
    expect(results.filter((result) => result.created)).toHaveLength(8);
    const entries = await prisma.auditEntry.findMany({ where: { auditId: audit.id }, orderBy: { sequence: "asc" } });
    expect(entries.map((entry) => entry.sequence)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // one full check, the first checkable one; the refused one has no mode
    expect(entries.filter((entry) => entry.mode === "full")).toHaveLength(1);
    expect(entries.filter((entry) => entry.status === "refused").map((entry) => entry.mode)).toEqual([null]);
  });

  it("settles an entry and raises its alerts once, however many settle it", async () => {
    const { entry } = await audits.claimEntry(audit.id, { contentHash: hash(100), file: "g", step: 5, refused: null }, () => "sample");
    const alert: NewAlert = { kind: "fail", message: "failed", payload: { kind: "fail", message: "failed", audit: "nightly", model: "m", run: "default", step: 5, file: "g", checkpoint: hash(100), check: null, previous: null, regressions: [], reason: null, createdAt: "2026-12-01T00:00:00Z" } };
    const settled = await Promise.all([1, 2, 3].map(() => audits.settleEntry(entry.id, { status: "checked", verdict: "fail", reason: null }, [alert], true)));
    expect(settled.filter((alerts) => alerts !== null)).toHaveLength(1);
    const [stored] = settled.find((alerts) => alerts !== null)!;
    expect(stored.payload).toMatchObject({ alert: stored.id, kind: "fail" });
    expect((await audits.pendingAlerts(audit.id)).map((row) => row.id)).toEqual([stored.id]);
    await audits.recordDelivery(stored.id, { status: "pending", error: "refused" });
    await audits.recordDelivery(stored.id, { status: "sent", error: null });
    expect(await prisma.alert.findUniqueOrThrow({ where: { id: stored.id } })).toMatchObject({ status: "sent", attempts: 2 });
    expect(await audits.pendingAlerts(audit.id)).toEqual([]);
  });

  it("remembers what scans saw of each file, and which were taken", async () => {
    await audits.observeFile(audit.id, "a.safetensors", 10, 1.5);
    await audits.observeFile(audit.id, "a.safetensors", 20, 2.5);
    const { entry } = await audits.claimEntry(audit.id, { contentHash: hash(200), file: "a.safetensors", step: null, refused: null }, () => "full");
    await audits.takeFile(audit.id, "a.safetensors", entry.id);
    expect(await audits.files(audit.id)).toEqual(new Map([["a.safetensors", { name: "a.safetensors", sizeBytes: 20, mtimeMs: 2.5, taken: true }]]));
  });
});
