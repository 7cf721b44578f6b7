import { parentPort } from "node:worker_threads";
import { isCheckInputError } from "@gradcheck/engine";
import { shardCheck } from "./check-planner.js";
import type { PlanReply, PlanRequest } from "./planning-thread.js";

// The coordinator's planning thread: loads checkpoints and times their items here, so that
// the HTTP event loop never waits on a forward pass. Requests come one at a time; the
// planner's cache of the last checkpoint lives in this thread.
const port = parentPort!;

port.on("message", (request: PlanRequest) => {
  shardCheck(request.checkpointPath, request.spec, request.options, request.processors).then(
    (sharded) => port.postMessage({ id: request.id, sharded } satisfies PlanReply),
    (error: unknown) =>
      port.postMessage({
        id: request.id,
        error: { message: error instanceof Error ? error.message : String(error), input: isCheckInputError(error) },
      } satisfies PlanReply),
  );
});
