import { describe, expect, it } from "vitest";
import { numericalGradient, relativeDifference } from "@gradcheck/core";
import { backprop, type Gradients } from "./backprop.js";
import { describeFault, faultyGradients, faultyTensors, type Fault } from "./faults.js";
import { forward } from "./forward.js";
import { networkFromTheta, type Network } from "./network.js";
import { HEADS, makeCase, makeSpec, type ModelCase } from "./test-support/models.js";

/** Square hidden layers (for transposed-dw), λ > 0, m > 1 (for missing-1/m). */
const tanhRelu = makeCase(
  makeSpec({
    inputSize: 3,
    hidden: [
      { units: 3, activation: "tanh" },
      { units: 3, activation: "relu" },
    ],
    head: HEADS[0],
    outputs: 2,
    l2: 0.1,
  }),
  5,
  21,
);
const sigmoidLinear = makeCase(
  makeSpec({
    inputSize: 2,
    hidden: [
      { units: 4, activation: "sigmoid" },
      { units: 3, activation: "linear" },
    ],
    head: HEADS[1],
    outputs: 2,
    l2: 0.1,
  }),
  5,
  22,
);

const named = (gradients: Gradients) =>
  new Map(gradients.weights.flatMap((dW, l) => [[`W${l + 1}`, dW] as const, [`b${l + 1}`, gradients.biases[l]] as const]));

/** The parameters whose gradient differs in any element from the correct backprop. */
function changedTensors(fault: Fault, network: Network, model: ModelCase): string[] {
  const good = named(backprop(network, model.batch));
  const bad = named(faultyGradients(fault, network, model.batch));
  return [...good].filter(([name, values]) => values.some((v, i) => v !== bad.get(name)![i])).map(([name]) => name);
}

const CASES: [string, ModelCase, Fault][] = [
  ["forgotten-l2 everywhere", tanhRelu, { kind: "forgotten-l2", layers: "all" }],
  ["forgotten-l2 in layer 2", tanhRelu, { kind: "forgotten-l2", layers: 2 }],
  ["doubled-dw", tanhRelu, { kind: "doubled-dw", layer: 1 }],
  ["flipped-db", tanhRelu, { kind: "flipped-db", layer: 3 }],
  ["wrong tanh derivative", tanhRelu, { kind: "wrong-activation-derivative", layer: 1 }],
  ["wrong relu derivative", tanhRelu, { kind: "wrong-activation-derivative", layer: 2 }],
  ["wrong sigmoid derivative", sigmoidLinear, { kind: "wrong-activation-derivative", layer: 1 }],
  ["wrong linear derivative", sigmoidLinear, { kind: "wrong-activation-derivative", layer: 2 }],
  ["wrong-coordinate", tanhRelu, { kind: "wrong-coordinate", layer: 3, row: 1, column: 2 }],
  ["shifted-rows", tanhRelu, { kind: "shifted-rows", layer: 2 }],
  ["transposed-dw", tanhRelu, { kind: "transposed-dw", layer: 2 }],
  ["missing-1/m", tanhRelu, { kind: "missing-1/m" }],
  ["missing-1/m (sigmoid model)", sigmoidLinear, { kind: "missing-1/m" }],
  ["scaled-tensor", sigmoidLinear, { kind: "scaled-tensor", layer: 2, factor: 1.5 }],
  ["dropout-left-on", { ...tanhRelu, spec: { ...tanhRelu.spec, keepProb: 0.7 } }, { kind: "dropout-left-on", seed: 3 }],
];

describe("faults", () => {
  it("the cases cover every kind of fault", () => {
    const kinds = new Set(CASES.map(([, , fault]) => fault.kind));
    expect([...kinds].sort()).toEqual(
      [
        "forgotten-l2",
        "doubled-dw",
        "flipped-db",
        "wrong-activation-derivative",
        "wrong-coordinate",
        "shifted-rows",
        "transposed-dw",
        "missing-1/m",
        "scaled-tensor",
        "dropout-left-on",
      ].sort(),
    );
  });

  it("the ReLU model has inactive units, so a wrong ReLU derivative shows", () => {
    const pass = forward(networkFromTheta(tanhRelu.spec, tanhRelu.theta), tanhRelu.batch);
    expect(pass.preActivations[1].some((z) => z < 0)).toBe(true);
  });

  it.each(CASES)("%s: faultyTensors lists exactly the tensors whose gradient differs", (_label, model, fault) => {
    const network = networkFromTheta(model.spec, model.theta);
    expect(faultyTensors(fault, network).sort()).toEqual(changedTensors(fault, network, model).sort());
    expect(describeFault(fault).length).toBeGreaterThan(5);
  });

  it.each(CASES)("%s: a gradient check sees the fault", (_label, model, fault) => {
    const network = networkFromTheta(model.spec, model.theta);
    const numeric = numericalGradient((theta) => forward(networkFromTheta(model.spec, theta), model.batch).cost, model.theta, 1e-6);
    const flat = (g: Gradients) => Float64Array.from(g.weights.flatMap((dW, l) => [...dW, ...g.biases[l]]));
    expect(relativeDifference(numeric, flat(backprop(network, model.batch)))).toBeLessThan(1e-6);
    expect(relativeDifference(numeric, flat(faultyGradients(fault, network, model.batch)))).toBeGreaterThan(1e-4);
  });

  it("wrong-coordinate changes exactly one element, by the tensor's RMS", () => {
    const network = networkFromTheta(tanhRelu.spec, tanhRelu.theta);
    const good = backprop(network, tanhRelu.batch).weights[2];
    const bad = faultyGradients({ kind: "wrong-coordinate", layer: 3, row: 1, column: 2 }, network, tanhRelu.batch).weights[2];
    const changed = [...good.keys()].filter((i) => good[i] !== bad[i]);
    expect(changed).toEqual([1 * 3 + 2]);
    const rms = Math.sqrt(good.reduce((s, v) => s + v * v, 0) / good.length);
    expect(Math.abs(bad[5] - good[5])).toBeCloseTo(rms, 14);
  });

  it("shifted-rows and transposed-dw move whole rows and transpose", () => {
    const network = networkFromTheta(tanhRelu.spec, tanhRelu.theta);
    const good = backprop(network, tanhRelu.batch).weights[1];
    const shifted = faultyGradients({ kind: "shifted-rows", layer: 2 }, network, tanhRelu.batch).weights[1];
    expect(Array.from(shifted)).toEqual([...good.slice(3), ...good.slice(0, 3)]);
    const transposed = faultyGradients({ kind: "transposed-dw", layer: 2 }, network, tanhRelu.batch).weights[1];
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) expect(transposed[r * 3 + c]).toBe(good[c * 3 + r]);
  });

  it("transposed-dw refuses a layer that is not square", () => {
    const network = networkFromTheta(sigmoidLinear.spec, sigmoidLinear.theta);
    expect(() => faultyGradients({ kind: "transposed-dw", layer: 1 }, network, sigmoidLinear.batch)).toThrow(/not square/);
  });

  it("dropout masks: backprop with them is the exact gradient of the masked forward pass", () => {
    const spec = { ...sigmoidLinear.spec, keepProb: 0.6 };
    const network = networkFromTheta(spec, sigmoidLinear.theta);
    const masks = network.sizes.slice(1, -1).map((units, l) => Float64Array.from({ length: sigmoidLinear.batch.size * units }, (_, i) => ((i + l) % 3 === 0 ? 0 : 1 / 0.6)));
    const masked = (theta: Float64Array) => forward(networkFromTheta(spec, theta), sigmoidLinear.batch, masks).cost;
    const numeric = numericalGradient(masked, sigmoidLinear.theta, 1e-6);
    const g = backprop(network, sigmoidLinear.batch, { dropoutMasks: masks });
    const flat = Float64Array.from(g.weights.flatMap((dW, l) => [...dW, ...g.biases[l]]));
    expect(relativeDifference(numeric, flat)).toBeLessThan(1e-7);
  });

  it("missing-1/m multiplies every gradient, L2 term included, by m", () => {
    const network = networkFromTheta(tanhRelu.spec, tanhRelu.theta);
    const good = backprop(network, tanhRelu.batch);
    const bad = faultyGradients({ kind: "missing-1/m" }, network, tanhRelu.batch);
    const m = tanhRelu.batch.size;
    expect(m).toBeGreaterThan(1);
    bad.biases.forEach((db, l) => expect(Array.from(db)).toEqual(Array.from(good.biases[l], (v) => v * m)));
    bad.weights.forEach((dW, l) => expect(Array.from(dW)).toEqual(Array.from(good.weights[l], (v) => v * m)));
  });
});
