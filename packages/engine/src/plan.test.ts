import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backendUsage, mergeShardResults } from "./aggregate.js";
import { shardResultsBodyBytes, type ShardJobResult } from "@gradcheck/contracts";
import type { ShardResult } from "./shard.js";
import { shardJobResult, shardResultFromBody, shardResultFromBytes, shardResultsBody, splitShardResultsBody } from "./shard-codec.js";
import { clusterShardSize, localShardSize, planShards } from "./plan.js";

describe("planShards", () => {
  it("covers [0, total) exactly once, in order, with shards of at most the given size", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 1, max: 5_000 }), (total, size) => {
        const shards = planShards(total, size);
        let next = 0;
        const wellFormed = shards.every((shard, index) => {
          const ok = shard.index === index && shard.start === next && shard.end > shard.start && shard.end - shard.start <= size;
          next = shard.end;
          return ok;
        });
        return wellFormed && next === total;
      }),
    );
  });

  it("rejects a shard size that is not a positive integer", () => {
    expect(() => planShards(10, 0)).toThrow(/positive integer/);
    expect(() => planShards(10, 1.5)).toThrow(/positive integer/);
  });

  it("gives each thread several shards on large models", () => {
    expect(Math.ceil(109_386 / localShardSize(109_386, 2))).toBeGreaterThanOrEqual(8);
  });
});

describe("mergeShardResults", () => {
  const cpu = { name: "cpu", mode: null, precision: "float64" } as const;
  const result = (index: number, start: number, end: number): ShardResult => ({
    shard: { index, start, end },
    numeric: new Float64Array(end - start).fill(index + 1),
    status: new Uint8Array(end - start).fill(1),
    backend: cpu,
  });

  it("places each shard at its indices, whatever order they arrive in", () => {
    const merged = mergeShardResults(6, [result(1, 3, 6), result(0, 0, 3)]);
    expect([...merged.numeric]).toEqual([1, 1, 1, 2, 2, 2]);
  });

  it("refuses a coordinate counted twice", () => {
    expect(() => mergeShardResults(6, [result(0, 0, 3), result(1, 3, 6), result(2, 2, 4)])).toThrow(/computed twice/);
  });

  it("refuses a gap", () => {
    expect(() => mergeShardResults(6, [result(0, 0, 3)])).toThrow(/item 3 was not computed/);
  });

  it("keeps screen outcomes where a shard was screened, float64 elsewhere, and counts items per backend", () => {
    const gpujs = { name: "gpujs", mode: "webasm", precision: "float32" } as const;
    const screened: ShardResult = { ...result(1, 3, 6), screen: Uint8Array.of(1, 2, 3), backend: gpujs };
    const merged = mergeShardResults(6, [result(0, 0, 3), screened]);
    expect([...merged.screen!]).toEqual([0, 0, 0, 1, 2, 3]);
    expect(mergeShardResults(6, [result(0, 0, 3), result(1, 3, 6)]).screen).toBeUndefined();
    expect(backendUsage([screened, result(0, 0, 3), result(2, 6, 8)])).toEqual([
      { ...cpu, items: 5 },
      { ...gpujs, items: 3 },
    ]);
  });
});

describe("shard codec", () => {
  it("carries numbers, statuses, screen outcomes and the backend through the body and the job's JSON unchanged", () => {
    const shard = { index: 2, start: 10, end: 14 };
    const plain: ShardResult = { shard, numeric: Float64Array.of(0.1, -2e-300, Math.PI, 0), status: Uint8Array.of(1, 2, 1, 0), backend: { name: "cpu", mode: null, precision: "float64" } };
    const screened: ShardResult = { ...plain, screen: Uint8Array.of(1, 2, 3, 0), backend: { name: "gpujs", mode: "cpu", precision: "float32" } };
    for (const original of [plain, screened]) {
      const meta = JSON.parse(JSON.stringify(shardJobResult(original, 0.5))) as ShardJobResult;
      expect(meta.seconds).toBe(0.5);
      // a body at an odd offset, as a Buffer slice of a larger read may be
      const body = shardResultsBody(original);
      expect(body.length).toBe(shardResultsBodyBytes(4));
      const shifted = new Uint8Array(body.length + 1).subarray(1);
      shifted.set(body);
      expect(shardResultFromBody(meta, shifted)).toEqual(original);
    }
  });

  it("refuses results that do not fit their shard", () => {
    const result: ShardResult = { shard: { index: 0, start: 0, end: 2 }, numeric: new Float64Array(2), status: new Uint8Array(2), backend: { name: "cpu", mode: null, precision: "float64" } };
    const body = shardResultsBody(result);
    expect(splitShardResultsBody(body, 3)).toBeNull();
    expect(() => shardResultFromBody({ ...shardJobResult(result, 0), shard: { index: 0, start: 0, end: 3 } }, body)).toThrow(/a body of 18 bytes does not hold 3 items \(27 bytes\)/);
    expect(() => shardResultFromBytes({ ...shardJobResult(result, 0), shard: { index: 0, start: 0, end: 3 } }, body.subarray(0, 16), body.subarray(16))).toThrow(/2 values for 3 items/);
  });
});

describe("clusterShardSize", () => {
  it("gives each processor a few shards", () => {
    // 160,000 items of 10 µs: 1.6 s in all; 4 processors, 12 shards of 0.13 s
    expect(clusterShardSize(160_000, 1e-5, 4)).toBe(13_334);
  });
  it("keeps a quick check in one shard rather than shards of microseconds", () => {
    expect(clusterShardSize(194, 5e-6, 8)).toBe(194);
  });
  it("caps a shard at MAX_SHARD_SECONDS of work", () => {
    // 1,000,000 items of 1 ms, one processor: 3 shards would take 333 s each
    expect(clusterShardSize(1_000_000, 1e-3, 1)).toBe(2_000);
  });
  it("is at least one item", () => {
    expect(clusterShardSize(10, 100, 1)).toBe(1);
  });
});
