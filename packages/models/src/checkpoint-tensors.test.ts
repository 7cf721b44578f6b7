import { describe, expect, it } from "vitest";
import { backprop } from "./backprop.js";
import { CheckpointMismatchError, checkpointTensors, matchCheckpointToModel, type NamedTensor } from "./checkpoint-tensors.js";
import { networkFromTheta } from "./network.js";
import { HEADS, makeCase, makeSpec } from "./test-support/models.js";

const model = makeCase(
  makeSpec({
    inputSize: 4,
    hidden: [
      { units: 3, activation: "relu" },
      { units: 2, activation: "tanh" },
    ],
    head: HEADS[0],
    outputs: 3,
    l2: 0.1,
  }),
  5,
  9,
);
const gradients = backprop(networkFromTheta(model.spec, model.theta), model.batch);
const tensors = checkpointTensors(model.spec, model.theta, gradients, model.batch);
const shapesOf = (list: readonly NamedTensor[]) => new Map(list.map((t) => [t.name, t.shape]));

function mismatch(shapes: Map<string, number[]>): CheckpointMismatchError {
  try {
    matchCheckpointToModel(model.spec, shapes, "probe.safetensors");
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointMismatchError);
    return error as CheckpointMismatchError;
  }
  throw new Error("matchCheckpointToModel accepted a mismatched checkpoint");
}

describe("checkpointTensors", () => {
  it("writes θ, dθ, X and Y with their shapes, in order", () => {
    expect(tensors.map((t) => [t.name, t.shape])).toEqual([
      ["W1", [3, 4]],
      ["b1", [3]],
      ["W2", [2, 3]],
      ["b2", [2]],
      ["W3", [3, 2]],
      ["b3", [3]],
      ["dW1", [3, 4]],
      ["db1", [3]],
      ["dW2", [2, 3]],
      ["db2", [2]],
      ["dW3", [3, 2]],
      ["db3", [3]],
      ["X", [5, 4]],
      ["Y", [5, 3]],
    ]);
    for (const t of tensors) expect(t.data).toHaveLength(t.shape.reduce((a, b) => a * b, 1));
    expect(Float64Array.from(tensors.slice(0, 6).flatMap((t) => [...t.data]))).toEqual(model.theta);
    expect(tensors[8].data).toEqual(gradients.weights[1]);
    expect(tensors[11].data).toEqual(gradients.biases[2]);
    expect(tensors[12].data).toBe(model.batch.inputs);
    expect(tensors[13].data).toBe(model.batch.targets);
  });
});

describe("matchCheckpointToModel", () => {
  it("accepts what checkpointTensors writes and returns m", () => {
    expect(matchCheckpointToModel(model.spec, shapesOf(tensors), "probe.safetensors")).toEqual({ batchSize: 5, unused: [] });
  });

  it("lists tensors the model does not use", () => {
    const shapes = shapesOf(tensors);
    shapes.set("optimizer.m", [3, 4]);
    shapes.set("step", []);
    expect(matchCheckpointToModel(model.spec, shapes, "c")).toEqual({ batchSize: 5, unused: ["optimizer.m", "step"] });
  });

  it("rejects a missing gradient, naming it and the file", () => {
    const shapes = shapesOf(tensors.filter((t) => t.name !== "dW2"));
    const error = mismatch(shapes);
    expect(error.message).toContain('"dW2"');
    expect(error.message).toContain("probe.safetensors");
    expect(error.message).toContain("missing");
  });

  it("counts further missing tensors", () => {
    const error = mismatch(shapesOf(tensors.filter((t) => !["W1", "db3", "Y"].includes(t.name))));
    expect(error.message).toMatch(/"W1" is missing \(and 2 more: db3, Y\)/);
  });

  it("rejects a wrong shape of W1, with the expected shape", () => {
    const shapes = shapesOf(tensors);
    shapes.set("W1", [4, 3]);
    const error = mismatch(shapes);
    expect(error.message).toContain('"W1"');
    expect(error.message).toContain("[4,3]");
    expect(error.message).toContain("[3,4]");
  });

  it("rejects a gradient whose shape differs from its parameter", () => {
    const shapes = shapesOf(tensors);
    shapes.set("db2", [2, 1]);
    expect(mismatch(shapes).message).toContain('"db2"');
  });

  it("rejects X with the wrong number of columns, or not a matrix, or no rows", () => {
    for (const shape of [[5, 3], [20], [0, 4]]) {
      const shapes = shapesOf(tensors);
      shapes.set("X", shape);
      expect(mismatch(shapes).message).toContain('"X"');
    }
  });

  it("rejects Y with a different m or the wrong width", () => {
    const shapes = shapesOf(tensors);
    shapes.set("Y", [4, 3]);
    const error = mismatch(shapes);
    expect(error.message).toContain('"Y"');
    expect(error.message).toMatch(/4 rows but X has 5/);
    shapes.set("Y", [5, 2]);
    expect(mismatch(shapes).message).toContain('"Y"');
  });

  it("accepts any batch size m ≥ 1 when X and Y agree", () => {
    const shapes = shapesOf(tensors);
    shapes.set("X", [1, 4]);
    shapes.set("Y", [1, 3]);
    expect(matchCheckpointToModel(model.spec, shapes, "c").batchSize).toBe(1);
  });
});
