import { parentPort, workerData } from "node:worker_threads";
import { runShard } from "./shard.js";
import { threadModel, type FromThread, type ShardJob, type ToThread } from "./thread-job.js";

// One backend per thread, built once from the job; shards then arrive one at a time.
const job = workerData as ShardJob;
const model = threadModel(job);
const port = parentPort!;

port.on("message", (message: ToThread) => {
  model
    .then(({ backend, layout }) => {
      const { shard, work } = message;
      const result = runShard(backend, layout, shard, work, job.settings, (done) =>
        port.postMessage({ type: "progress", shardIndex: shard.index, done } satisfies FromThread),
      );
      port.postMessage({ type: "result", result } satisfies FromThread, [result.numeric.buffer as ArrayBuffer, result.status.buffer as ArrayBuffer]);
    })
    .catch((error: unknown) => {
      port.postMessage({ type: "error", message: error instanceof Error ? error.message : String(error) } satisfies FromThread);
    });
});
