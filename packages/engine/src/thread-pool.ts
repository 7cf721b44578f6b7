import { Worker } from "node:worker_threads";
import type { Shard } from "./plan.js";
import type { ShardResult, ShardWork } from "./shard.js";
import type { FromThread, ShardJob, ToThread } from "./thread-job.js";

// Resolves to dist/thread-worker.js from both src/ (tests) and dist/ (built code).
const WORKER_URL = new URL("../dist/thread-worker.js", import.meta.url);

/**
 * Worker threads that each rebuild the backend from the job. Started early, so that their
 * start-up overlaps with the main thread's own preparation; shards go to whichever is free.
 */
export class ThreadPool {
  private readonly workers: Worker[];
  /** an error or exit that happened while no run was listening */
  private failure?: Error;

  constructor(job: ShardJob, size: number) {
    this.workers = Array.from({ length: size }, () => {
      const worker = new Worker(WORKER_URL, { workerData: job });
      worker.on("error", (error) => (this.failure ??= error));
      return worker;
    });
  }

  async run(
    shards: readonly { readonly shard: Shard; readonly work: ShardWork }[],
    onProgress: (itemsDone: number) => void,
  ): Promise<ShardResult[]> {
    if (this.failure) throw new Error(`worker thread failed: ${this.failure.message}`);
    const results: ShardResult[] = [];
    const doneByShard = new Map<number, number>();
    let completed = 0;
    let next = 0;
    const cleanups: (() => void)[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        if (shards.length === 0) return resolve();
        const report = () => onProgress([...doneByShard.values()].reduce((sum, done) => sum + done, 0));
        const dispatch = (worker: Worker) => {
          if (next < shards.length) worker.postMessage({ type: "shard", ...shards[next++] } satisfies ToThread);
        };
        for (const worker of this.workers) {
          const onMessage = (message: FromThread) => {
            if (message.type === "progress") {
              doneByShard.set(message.shardIndex, message.done);
              report();
            } else if (message.type === "result") {
              const { shard } = message.result;
              results.push(message.result);
              doneByShard.set(shard.index, shard.end - shard.start);
              report();
              if (++completed === shards.length) resolve();
              else dispatch(worker);
            } else {
              reject(new Error(`worker thread failed: ${message.message}`));
            }
          };
          const onError = (error: Error) => reject(error);
          const onExit = (code: number) => {
            if (completed < shards.length) reject(new Error(`worker thread exited with code ${code} before the check finished`));
          };
          worker.on("message", onMessage).on("error", onError).on("exit", onExit);
          cleanups.push(() => worker.off("message", onMessage).off("error", onError).off("exit", onExit));
          dispatch(worker);
        }
      });
    } finally {
      cleanups.forEach((cleanup) => cleanup());
    }
    return results;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
