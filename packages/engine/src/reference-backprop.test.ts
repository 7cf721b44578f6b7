import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_CHECK_OPTIONS } from "./check-input.js";
import { runLocalCheck } from "./run-check.js";
import { fixture } from "./test-support/fixtures.js";

const hidden = fc.constantFrom("relu", "tanh", "sigmoid", "linear");
const head = fc.constantFrom(
  { activation: "softmax", loss: "cross-entropy" },
  { activation: "sigmoid", loss: "cross-entropy" },
  { activation: "linear", loss: "mse" },
);

const specs = fc.record({
  inputSize: fc.integer({ min: 1, max: 7 }),
  hiddenLayers: fc.array(fc.record({ units: fc.integer({ min: 1, max: 9 }), activation: hidden }), { maxLength: 3 }),
  outputUnits: fc.integer({ min: 1, max: 5 }),
  head,
  l2: fc.constantFrom(0, 0.01, 0.7),
  batchSize: fc.integer({ min: 1, max: 9 }),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
});

describe("the reference backprop", () => {
  it("passes the full check for random MLPs over every activation, loss, λ and size", async () => {
    await fc.assert(
      fc.asyncProperty(specs, async (drawn) => {
        const { input } = fixture(
          {
            name: "random",
            inputSize: drawn.inputSize,
            layers: [...drawn.hiddenLayers, { units: drawn.outputUnits, activation: drawn.head.activation }],
            loss: drawn.head.loss,
            l2: drawn.l2,
          },
          drawn.seed,
          drawn.batchSize,
        );
        const report = await runLocalCheck(input, { ...DEFAULT_CHECK_OPTIONS, eps: 1e-6, top: 1, threads: 1 });
        expect(report.verdict, JSON.stringify({ drawn, relativeDifference: report.relativeDifference })).toBe("pass");
        expect(report.relativeDifference).toBeLessThan(1e-7);
        expect(report.diagnosis).toEqual([]);
      }),
      { numRuns: 150, seed: 20261124 },
    );
  });
});
