import { describe, expect, it } from "vitest";
import { aggregateJobId, checkOptionsSchema, processorsOfWorker, recordedCheckOptions, shardJobId, submitCheckSchema, workerName } from "./cluster.js";

describe("cluster contracts", () => {
  it("job ids are deterministic and free of ':'", () => {
    expect(shardJobId("abc", 3)).toBe("check-abc-shard-3");
    expect(aggregateJobId("abc")).toBe("check-abc-aggregate");
    expect(shardJobId("abc", 3)).not.toContain(":");
  });

  it("a submission gets the CLI's default options, and refuses unknown ones", () => {
    const parsed = submitCheckSchema.parse({ model: "m", checkpoint: "a".repeat(64) });
    expect(parsed.options).toEqual({ mode: "full", richardson: false, samples: 64, directions: 8, seed: 0, top: 5 });
    expect(submitCheckSchema.safeParse({ model: "m", checkpoint: "a".repeat(64), options: { threads: 2 } }).success).toBe(false);
    expect(submitCheckSchema.safeParse({ model: "m", checkpoint: "not a hash" }).success).toBe(false);
  });

  it("records only the options a mode uses, so equal checks hash equally", () => {
    const full = recordedCheckOptions(checkOptionsSchema.parse({ mode: "full", seed: 9, samples: 7 }));
    expect(full).toEqual(recordedCheckOptions(checkOptionsSchema.parse({ mode: "full" })));
    const sample = recordedCheckOptions(checkOptionsSchema.parse({ mode: "sample", seed: 9, samples: 7 }));
    expect(sample).toMatchObject({ mode: "sample", seed: 9, samples: 7, directions: undefined });
  });

  it("a worker's client name tells its processors", () => {
    expect(processorsOfWorker(`gradcheck:c2hhcmRz:w:${workerName(6)}`)).toBe(6);
    expect(processorsOfWorker("gradcheck:c2hhcmRz")).toBe(1);
  });
});
