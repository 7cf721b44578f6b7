import fc from "fast-check";
import type { Precision } from "@gradcheck/core";
import { describe, expect, it } from "vitest";
import { DEFAULT_CHECK_OPTIONS, type CheckMode } from "./check-input.js";
import { runLocalCheck } from "./run-check.js";
import { userCheckInput } from "./test-support/user-backprop.js";

const MODES: CheckMode[] = ["full", "sample", "directional"];
const HEADS = [
  { activation: "softmax", loss: "cross-entropy", units: 10 },
  { activation: "sigmoid", loss: "cross-entropy", units: 5 },
] as const;

/** 1000 inputs into 500 hidden units: W1 alone has 500,000 coordinates. */
const largeSpec = (activation: "relu" | "tanh", head: (typeof HEADS)[number], l2: number) => ({
  name: `large-${activation}-${head.activation}-l2-${l2}`,
  inputSize: 1000,
  layers: [{ units: 500, activation }, { units: head.units, activation: head.activation }],
  loss: head.loss,
  l2,
});

const LARGE_CASES = (["relu", "tanh"] as const).flatMap((activation) =>
  HEADS.flatMap((head) => [0, 0.1].flatMap((l2) => (["F64", "F32"] as Precision[]).map((precision) => ({ activation, head, l2, precision })))),
);

describe("no false alarms on large correct models", () => {
  it.each(LARGE_CASES.map((c) => [`${c.activation}, ${c.head.activation}, λ ${c.l2}, ${c.precision}`, c] as const))(
    "%s: passes in full, sample and directional modes",
    async (_, { activation, head, l2, precision }) => {
      const input = userCheckInput(largeSpec(activation, head, l2), precision, 17);
      expect(input.theta.length).toBeGreaterThanOrEqual(500_000);
      for (const mode of MODES) {
        const report = await runLocalCheck(input, { ...DEFAULT_CHECK_OPTIONS, mode });
        const failing = report.tensors.filter((tensor) => tensor.verdict !== "pass").map((tensor) => [tensor.name, tensor.relativeDifference, tensor.outliers.count]);
        expect([mode, report.verdict, failing]).toEqual([mode, "pass", []]);
        expect(report.diagnosis).toEqual([]);
      }
    },
    60_000,
  );
});

const PRECISIONS: Precision[] = ["F64", "F32", "F16", "BF16"];
const randomModel = fc.record({
  inputSize: fc.integer({ min: 1, max: 6 }),
  hidden: fc.array(fc.record({ units: fc.integer({ min: 1, max: 8 }), activation: fc.constantFrom("relu", "tanh", "sigmoid", "linear") }), { maxLength: 2 }),
  head: fc.constantFrom(
    { activation: "softmax", loss: "cross-entropy" },
    { activation: "sigmoid", loss: "cross-entropy" },
    { activation: "linear", loss: "mse" },
  ),
  outputs: fc.integer({ min: 1, max: 4 }),
  l2: fc.constantFrom(0, 0.05, 0.5),
  batchSize: fc.integer({ min: 1, max: 6 }),
  precision: fc.constantFrom(...PRECISIONS),
  mode: fc.constantFrom(...MODES),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
});

describe("no false alarms on random correct models", () => {
  it("1,000 models over every activation, loss, dtype and mode: none fails", async () => {
    await fc.assert(
      fc.asyncProperty(randomModel, async (drawn) => {
        const spec = {
          name: "fuzz",
          inputSize: drawn.inputSize,
          layers: [...drawn.hidden, { units: drawn.outputs, activation: drawn.head.activation }],
          loss: drawn.head.loss,
          l2: drawn.l2,
        };
        const input = userCheckInput(spec, drawn.precision, drawn.seed, drawn.batchSize);
        const report = await runLocalCheck(input, { ...DEFAULT_CHECK_OPTIONS, mode: drawn.mode, samples: 8, directions: 4, seed: drawn.seed, threads: 1 });
        const failing = report.tensors.filter((tensor) => tensor.verdict === "fail").map((tensor) => [tensor.name, tensor.relativeDifference, tensor.outliers.worst[0]]);
        expect(report.verdict, JSON.stringify({ drawn, failing })).not.toBe("fail");
      }),
      { numRuns: 1000, seed: 20261201 },
    );
  }, 300_000);
});
