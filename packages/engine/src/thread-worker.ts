import { parentPort, workerData } from "node:worker_threads";
import { runShard } from "./shard.js";
import { backendFor, type FromThread, type ShardJob, type ToThread } from "./thread-job.js";

// One backend per thread, built once from the job; shards then arrive one at a time.
const job = workerData as ShardJob;
const backend = backendFor(job);
const port = parentPort!;

port.on("message", (message: ToThread) => {
  try {
    const { shard, work } = message;
    const result = runShard(backend, job.spec, shard, work, job.settings, (done) =>
      port.postMessage({ type: "progress", shardIndex: shard.index, done } satisfies FromThread),
    );
    port.postMessage({ type: "result", result } satisfies FromThread, [result.numeric.buffer as ArrayBuffer, result.status.buffer as ArrayBuffer]);
  } catch (error) {
    port.postMessage({ type: "error", message: error instanceof Error ? error.message : String(error) } satisfies FromThread);
  }
});
