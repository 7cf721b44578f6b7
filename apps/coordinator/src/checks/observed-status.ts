import type { CheckStatus } from "@gradcheck/contracts";
import type { FlowState } from "../queue/queue.service.js";

/** What the queue says of an open check's status: failed (with why), running once a shard has finished or the aggregation is under way, else as stored. */
export function observedStatus(status: CheckStatus, flow: FlowState): { status: CheckStatus; error?: string } {
  if (flow.state === "failed") return { status: "failed", error: flow.failedReason ?? "a shard failed" };
  if (status === "queued" && (flow.shardsDone > 0 || flow.state !== "waiting-children")) return { status: "running" };
  return { status };
}
