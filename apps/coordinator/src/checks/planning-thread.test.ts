import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UnprocessableEntityException } from "@nestjs/common";
import { encodeSafetensors } from "@gradcheck/checkpoint";
import { checkOptionsSchema } from "@gradcheck/contracts";
import { parseModelSpec } from "@gradcheck/models";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MNIST_SPEC, writeTestCheckpoint } from "../test-support/checkpoints.js";
import { shardCheck } from "./check-planner.js";
import { PlanningThread } from "./planning-thread.js";

let folder: string;
const planner = new PlanningThread();

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "gradcheck-planning-"));
});

afterAll(async () => {
  await planner.onApplicationShutdown();
  await rm(folder, { recursive: true, force: true });
});

describe("the planning thread", () => {
  it("cuts a check into the shards the planner cuts in this thread", async () => {
    const path = join(folder, "mnist.safetensors");
    await writeTestCheckpoint(path, MNIST_SPEC, { batchSize: 16, seed: 3 });
    const options = checkOptionsSchema.parse({ mode: "full" });
    const there = await planner.shard(path, MNIST_SPEC, options, 4);
    const here = await shardCheck(path, MNIST_SPEC, options, 4);
    // shard sizes follow timings, which differ run to run: the work planned is the same
    expect(there.items).toBe(here.items);
    expect(there.shards.at(-1)!.end).toBe(here.items);
    expect(there.shards.every((shard, index) => shard.index === index && shard.end - shard.start <= there.shardSize)).toBe(true);
  });

  it("refuses a checkpoint whose cost cannot be differenced with a 422 that says why, and goes on planning", async () => {
    const spec = parseModelSpec({ name: "overflow", inputSize: 1, layers: [{ units: 1, activation: "linear" }], loss: "mse" });
    const path = join(folder, "overflow.safetensors");
    const filled = (name: string, shape: number[], value: number) => ({ name, shape, dtype: "F64" as const, data: new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(value) });
    await writeFile(path, encodeSafetensors([filled("W1", [1, 1], 1e160), filled("b1", [1], 0), filled("dW1", [1, 1], 1), filled("db1", [1], 1), filled("X", [1, 1], 1e160), filled("Y", [1, 1], 0)]));
    const refused = planner.shard(path, spec, checkOptionsSchema.parse({ mode: "full" }), 1);
    await expect(refused).rejects.toBeInstanceOf(UnprocessableEntityException);
    await expect(refused).rejects.toThrow(/J\(θ\) is Infinity/);
    const next = await planner.shard(join(folder, "mnist.safetensors"), MNIST_SPEC, checkOptionsSchema.parse({ mode: "sample" }), 1);
    expect(next.items).toBeGreaterThan(0);
  });
});
