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
const randomModel = (size: { inputs: number; units: number; layers: number; batch: number }) => fc.record({
  inputSize: fc.integer({ min: 1, max: size.inputs }),
  hidden: fc.array(fc.record({ units: fc.integer({ min: 1, max: size.units }), activation: fc.constantFrom("relu", "tanh", "sigmoid", "linear") }), { maxLength: size.layers }),
  head: fc.constantFrom(
    { activation: "softmax", loss: "cross-entropy" },
    { activation: "sigmoid", loss: "cross-entropy" },
    { activation: "linear", loss: "mse" },
  ),
  outputs: fc.integer({ min: 1, max: 4 }),
  l2: fc.constantFrom(0, 0.05, 0.5),
  batchSize: fc.integer({ min: 1, max: size.batch }),
  precision: fc.constantFrom(...PRECISIONS),
  mode: fc.constantFrom(...MODES),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
});

type Drawn = typeof randomModel extends (...args: never[]) => fc.Arbitrary<infer T> ? T : never;

async function neverFails(drawn: Drawn, samples: number, directions: number) {
  const spec = {
    name: "fuzz",
    inputSize: drawn.inputSize,
    layers: [...drawn.hidden, { units: drawn.outputs, activation: drawn.head.activation }],
    loss: drawn.head.loss,
    l2: drawn.l2,
  };
  const input = userCheckInput(spec, drawn.precision, drawn.seed, drawn.batchSize);
  const report = await runLocalCheck(input, { ...DEFAULT_CHECK_OPTIONS, mode: drawn.mode, samples, directions, seed: drawn.seed, threads: 1 });
  const failing = report.tensors.filter((tensor) => tensor.verdict === "fail").map((tensor) => [tensor.name, tensor.relativeDifference, tensor.outliers.worst[0]]);
  expect(report.verdict, JSON.stringify({ drawn, failing })).not.toBe("fail");
}

describe("no false alarms on random correct models", () => {
  it("1,000 models over every activation, loss, dtype and mode: none fails", async () => {
    await fc.assert(
      fc.asyncProperty(randomModel({ inputs: 6, units: 8, layers: 2, batch: 6 }), (drawn) => neverFails(drawn, 8, 4)),
      { numRuns: 1000, seed: 20261201 },
    );
  }, 300_000);

  it("a deep ReLU model in BF16, whose arithmetic switches ReLUs near their kinks, passes", async () => {
    // Found by a wider fuzz: float64 has W3[30,33]'s gradient exactly 0 (a dead unit), BF16's forward pass switches that unit on.
    const drawn = {
      inputSize: 35,
      hidden: [{ units: 26, activation: "relu" }, { units: 38, activation: "relu" }, { units: 46, activation: "relu" }],
      head: { activation: "softmax", loss: "cross-entropy" },
      outputs: 2,
      l2: 0,
      batchSize: 24,
      precision: "BF16",
      mode: "full",
      seed: 91550,
    } as Drawn;
    await neverFails(drawn, 32, 8);
  });

  it("150 deeper, wider models: none fails", async () => {
    await fc.assert(
      fc.asyncProperty(randomModel({ inputs: 40, units: 48, layers: 3, batch: 24 }), (drawn) => neverFails(drawn, 32, 8)),
      { numRuns: 150, seed: 77 },
    );
  }, 300_000);
});
