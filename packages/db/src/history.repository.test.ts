import type { Report } from "@gradcheck/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "./client.js";
import type { PrismaClient } from "./generated/prisma/client.js";
import { HistoryRepository, type FinishedCheck } from "./history.repository.js";
import { createTestDatabase, type TestDatabase } from "./testing.js";

/** Per-tensor fields these tests do not look at. */
const untested = { tolerance: null, outliers: { count: 0, complete: true, worst: [] }, sensitivity: null };

function report(verdict: Report["verdict"], relativeDifference: number, step: number | null): Report {
  return {
    model: "mlp",
    verdict,
    relativeDifference,
    eps: 6e-6,
    stepRule: "auto",
    richardson: false,
    mode: "full",
    seed: null,
    precision: "F64",
    cost: 2.3,
    thresholds: { pass: 1e-7, warn: 1e-4 },
    noise: { relative: 1e-12, sampled: 16 },
    costEvaluations: 32,
    step,
    tolerances: null,
    coordinates: { total: 12, checked: 12, kinks: 0, outliers: 0 },
    tensors: [
      { name: "W1", shape: [2, 5], relativeDifference, maxAbsError: 1e-3, verdict, size: 10, checked: 10, coverage: 1, kinks: 0, worst: [{ index: [1, 4], numeric: 0.5, analytic: 0.25, absError: 0.25, relativeError: 0.33 }], ...untested },
      { name: "b1", shape: [2], relativeDifference: 1e-12, maxAbsError: 1e-14, verdict: "pass", size: 2, checked: 2, coverage: 1, kinks: 0, worst: [], ...untested },
    ],
    localization: null,
    warnings: [],
    diagnosis: verdict === "fail" ? [{ code: "scale", tensors: ["W1"], message: "W1 is 2 × the numerical one", evidence: { factors: [2] } }] : [],
    compute: { backends: [{ name: "cpu", mode: null, precision: "float64", items: 12 }], screen: null },
  };
}

function finished(step: number | null, hash: string, verdict: Report["verdict"], relativeDifference: number): FinishedCheck {
  return {
    model: { name: "mlp", spec: { name: "mlp", inputSize: 5 } },
    checkpoint: { contentHash: hash, step, dtype: "F64", sizeBytes: 4096 },
    options: { mode: "full", top: 5, eps: undefined },
    backend: "cpu",
    report: report(verdict, relativeDifference, step),
    startedAt: new Date("2026-11-24T10:00:00Z"),
    finishedAt: new Date("2026-11-24T10:00:02Z"),
  };
}

const backends: [string, () => Promise<{ prisma: PrismaClient; close(): Promise<void> }>][] = [
  [
    "PostgreSQL",
    async () => {
      const database: TestDatabase = await createTestDatabase();
      const prisma = await createClient({ url: database.url, migrate: true });
      return { prisma, close: async () => (await prisma.$disconnect(), await database.drop()) };
    },
  ],
  [
    "PGlite",
    async () => {
      const prisma = await createClient({ migrate: true });
      return { prisma, close: () => prisma.$disconnect() };
    },
  ],
];

describe.each(backends)("HistoryRepository on %s", (_, open) => {
  let prisma: PrismaClient;
  let close: () => Promise<void>;
  let history: HistoryRepository;

  beforeAll(async () => {
    ({ prisma, close } = await open());
    history = new HistoryRepository(prisma);
  }, 60_000);
  afterAll(async () => {
    await close();
  });

  it("records checks across checkpoints and lists them by training step, with per-tensor figures", async () => {
    await history.recordFinishedCheck(finished(5000, "bbb", "fail", 0.2));
    await history.recordFinishedCheck(finished(0, "aaa", "pass", 1e-11));
    await history.recordFinishedCheck(finished(null, "ccc", "pass", 2e-11));
    const entries = await history.history("mlp");
    expect(entries.map((entry) => [entry.step, entry.verdict])).toEqual([
      [0, "pass"],
      [5000, "fail"],
      [null, "pass"],
    ]);
    expect(entries[1].tensors).toEqual([
      { name: "W1", relativeDifference: 0.2, verdict: "fail" },
      { name: "b1", relativeDifference: 1e-12, verdict: "pass" },
    ]);
  });

  it("keeps one model and one checkpoint per content hash, and stores the details", async () => {
    const id = await history.recordFinishedCheck(finished(0, "aaa", "pass", 1e-11));
    expect(await prisma.model.count()).toBe(1);
    expect(await prisma.checkpoint.count({ where: { contentHash: "aaa" } })).toBe(1);
    const stored = await prisma.check.findUniqueOrThrow({ where: { id }, include: { worst: true, diagnoses: true, checkpoint: true } });
    expect(stored.worst.map((w) => [w.tensor, w.index])).toEqual([["W1", [1, 4]]]);
    expect(stored.checkpoint.sizeBytes).toBe(4096n);
    expect((stored.report as unknown as Report).coordinates.total).toBe(12);
    const failing = await prisma.check.findFirstOrThrow({ where: { verdict: "fail" }, include: { diagnoses: true } });
    expect(failing.diagnoses.map((d) => [d.code, d.tensors])).toEqual([["scale", ["W1"]]]);
  });

  it("hashes equal options equally, whatever their key order", async () => {
    const checks = await prisma.check.findMany({ select: { optionsHash: true } });
    expect(new Set(checks.map((c) => c.optionsHash)).size).toBe(1);
  });

  it("lists nothing for an unknown model", async () => {
    expect(await history.history("unknown")).toEqual([]);
  });
});
