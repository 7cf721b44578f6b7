import { Worker } from "node:worker_threads";
import type { Shard } from "./plan.js";
import type { ShardResult, ShardWork } from "./shard.js";
import type { FromThread, ShardJob, ToThread } from "./thread-job.js";

// Resolves to dist/thread-worker.js from both src/ (tests) and dist/ (built code).
const WORKER_URL = new URL("../dist/thread-worker.js", import.meta.url);

/** Runs shards on `threads` worker threads, handing the next shard to whichever thread is free. */
export async function runShardsOnThreads(
  job: ShardJob,
  shards: readonly { readonly shard: Shard; readonly work: ShardWork }[],
  threads: number,
  onProgress: (itemsDone: number) => void,
): Promise<ShardResult[]> {
  const results: ShardResult[] = [];
  const doneByShard = new Map<number, number>();
  let completed = 0;
  let next = 0;
  const workers = Array.from({ length: Math.min(threads, shards.length) }, () => new Worker(WORKER_URL, { workerData: job }));

  try {
    await new Promise<void>((resolve, reject) => {
      const report = () => onProgress([...doneByShard.values()].reduce((sum, done) => sum + done, 0));
      const dispatch = (worker: Worker) => {
        if (next < shards.length) worker.postMessage({ type: "shard", ...shards[next++] } satisfies ToThread);
      };
      for (const worker of workers) {
        worker.on("message", (message: FromThread) => {
          if (message.type === "progress") {
            doneByShard.set(message.shardIndex, message.done);
            report();
          } else if (message.type === "result") {
            results.push({ shard: message.shard, numeric: message.numeric, status: message.status });
            doneByShard.set(message.shard.index, message.shard.end - message.shard.start);
            report();
            if (++completed === shards.length) resolve();
            else dispatch(worker);
          } else {
            reject(new Error(`worker thread failed: ${message.message}`));
          }
        });
        worker.on("error", reject);
        worker.on("exit", (code) => {
          if (completed < shards.length) reject(new Error(`worker thread exited with code ${code} before the check finished`));
        });
        dispatch(worker);
      }
    });
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  return results;
}
