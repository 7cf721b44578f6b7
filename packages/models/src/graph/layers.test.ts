import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { graphCost } from "./graph-network.js";
import type { Shape } from "./layer.js";
import { analytic, centralDifferences, gradientsAgree, problem, type Problem } from "./test-support/central.js";

const cost = (p: Problem) => graphCost(p.graph, p.theta, p.buffers, p.batch);

/** Every parameter's and (for feature inputs) every input's reference gradient against central differences in float64. */
function expectBackwardMatches(p: Problem): void {
  const exact = analytic(p);
  expect(exact.cost).toBeCloseTo(cost(p), 12);
  expect(gradientsAgree(exact.theta, centralDifferences(p, cost, "theta"))).toMatchObject({ agree: true });
  if (p.graph.spec.input.dtype === "float") expect(gradientsAgree(exact.inputs, centralDifferences(p, cost, "inputs"))).toMatchObject({ agree: true });
}

/** A layer spec, the input shape it takes, the batch size and a seed. */
interface Case {
  readonly layers: unknown[];
  readonly input: { shape: Shape; dtype?: "float" | "index"; vocab?: number };
  readonly m: number;
  readonly seed: number;
}

const seed = fc.integer({ min: 1, max: 2 ** 31 - 1 });
const small = (max: number) => fc.integer({ min: 1, max });

function property(cases: fc.Arbitrary<Case>, runs = 12) {
  fc.assert(
    fc.property(cases, ({ layers, input, m, seed }) => expectBackwardMatches(problem(layers, input, m, seed))),
    // a fixed seed: the same cases on every run and in CI
    { numRuns: runs, seed: 20_261_202 },
  );
}

describe("each layer type's reference backward equals central differences in float64", () => {
  it("linear, on the last dimension, with and without bias", () => {
    property(
      fc.record({ positions: fc.integer({ min: 0, max: 3 }), features: small(5), out: small(4), bias: fc.boolean(), m: small(3), seed }).map(({ positions, features, out, bias, m, seed }) => ({
        layers: [{ type: "linear", name: "fc", out, bias }],
        input: { shape: positions ? [positions, features] : [features] },
        m,
        seed,
      })),
    );
  });

  it("conv2d, in random kernels, strides and paddings", () => {
    property(
      fc
        .record({ channels: small(3), height: small(7), width: small(7), out: small(3), kernel: small(3), stride: small(3), padding: fc.integer({ min: 0, max: 2 }), bias: fc.boolean(), m: small(2), seed })
        .filter(({ height, width, kernel, padding }) => kernel <= height + 2 * padding && kernel <= width + 2 * padding)
        .map(({ channels, height, width, m, seed, ...conv }) => ({ layers: [{ type: "conv2d", name: "conv", ...conv }], input: { shape: [channels, height, width] }, m, seed })),
    );
  });

  for (const type of ["maxpool2d", "avgpool2d"]) {
    it(`${type}, in random windows and strides`, () => {
      property(
        fc
          .record({ channels: small(2), height: small(7), width: small(7), kernel: small(3), stride: fc.option(small(3), { nil: undefined }), m: small(2), seed })
          .filter(({ height, width, kernel }) => kernel <= height && kernel <= width)
          .map(({ channels, height, width, kernel, stride, m, seed }) => ({ layers: [{ type, kernel, ...(stride ? { stride } : {}) }], input: { shape: [channels, height, width] }, m, seed })),
      );
    });
  }

  it("flatten between a convolution and a linear layer", () => {
    property(
      fc.record({ channels: small(2), side: fc.integer({ min: 2, max: 4 }), m: small(2), seed }).map(({ channels, side, m, seed }) => ({
        layers: [{ type: "conv2d", name: "conv", out: 2, kernel: 2 }, { type: "flatten" }, { type: "linear", name: "fc", out: 3 }],
        input: { shape: [channels, side, side] },
        m,
        seed,
      })),
    );
  });

  for (const statistics of ["batch", "running"] as const) {
    it(`batchnorm2d with ${statistics} statistics`, () => {
      property(
        fc.record({ channels: small(3), height: small(3), width: small(3), m: fc.integer({ min: 2, max: 3 }), seed }).map(({ channels, height, width, m, seed }) => ({
          layers: [{ type: "batchnorm2d", name: "bn", statistics }],
          input: { shape: [channels, height, width] },
          m,
          seed,
        })),
      );
    });
  }

  it("layernorm over the last dimension", () => {
    property(
      fc.record({ positions: fc.integer({ min: 0, max: 3 }), features: fc.integer({ min: 2, max: 6 }), m: small(2), seed }).map(({ positions, features, m, seed }) => ({
        layers: [{ type: "layernorm", name: "ln" }],
        input: { shape: positions ? [positions, features] : [features] },
        m,
        seed,
      })),
    );
  });

  it("embedding (repeated tokens collect every occurrence) and learned positions", () => {
    property(
      fc.record({ positions: small(5), vocab: small(4), dim: small(3), extra: fc.integer({ min: 0, max: 2 }), m: small(3), seed }).map(({ positions, vocab, dim, extra, m, seed }) => ({
        layers: [
          { type: "embedding", name: "tok", vocab, dim },
          { type: "positional", name: "pos", length: positions + extra, dim },
        ],
        input: { shape: [positions], dtype: "index" as const, vocab },
        m,
        seed,
      })),
    );
  });

  it("attention, causal or not, in random heads and widths", () => {
    property(
      fc.record({ positions: small(4), heads: small(3), width: small(3), causal: fc.boolean(), m: small(2), seed }).map(({ positions, heads, width, causal, m, seed }) => ({
        layers: [{ type: "attention", name: "attn", heads, causal }],
        input: { shape: [positions, heads * width] },
        m,
        seed,
      })),
    );
  });

  const activations: object[] = [
    { type: "relu" },
    { type: "leaky_relu", slope: 0.1 },
    { type: "gelu" },
    { type: "gelu", approximate: "tanh" },
    { type: "tanh" },
    { type: "sigmoid" },
    { type: "silu" },
    { type: "dropout", p: 0.1 },
  ];
  for (const activation of activations) {
    it(`${JSON.stringify(activation)} after a linear layer`, () => {
      property(
        fc.record({ features: small(4), m: small(3), seed }).map(({ features, m, seed }) => ({
          layers: [{ type: "linear", name: "fc", out: 4 }, activation],
          input: { shape: [features] },
          m,
          seed,
        })),
        6,
      );
    });
  }

  it("residual blocks, nested, around layers that keep the shape", () => {
    property(
      fc.record({ features: small(4), m: small(3), seed }).map(({ features, m, seed }) => ({
        layers: [
          {
            type: "residual",
            layers: [{ type: "layernorm", name: "ln" }, { type: "linear", name: "fc1", out: features }, { type: "gelu" }, { type: "residual", layers: [{ type: "linear", name: "fc2", out: features }] }],
          },
        ],
        input: { shape: [features] },
        m,
        seed,
      })),
    );
  });
});
