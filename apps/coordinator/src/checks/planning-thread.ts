import { Injectable, UnprocessableEntityException, type OnApplicationShutdown } from "@nestjs/common";
import type { CheckOptionsRecord } from "@gradcheck/contracts";
import { Worker } from "node:worker_threads";
import type { ShardedCheck } from "./check-planner.js";

// Resolves to dist/checks/planning-worker.js from both src/checks (tests) and dist/checks.
const WORKER_URL = new URL("../../dist/checks/planning-worker.js", import.meta.url);

export interface PlanRequest {
  readonly id: number;
  readonly checkpointPath: string;
  /** the spec's JSON (either version): compiled in the thread, as compiled specs do not cross threads */
  readonly spec: unknown;
  readonly options: CheckOptionsRecord;
  readonly processors: number;
}

export type PlanReply =
  | { readonly id: number; readonly sharded: ShardedCheck }
  | { readonly id: number; readonly error: { readonly message: string; readonly input: boolean } };

/**
 * Plans checks (load the checkpoint, verify its cost, time items, cut shards) in a thread of
 * its own, started on first use, so that the coordinator keeps answering while it works. A
 * check the input makes impossible is a 422; a thread that dies takes its requests with it
 * and the next request starts another.
 */
@Injectable()
export class PlanningThread implements OnApplicationShutdown {
  private worker?: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (sharded: ShardedCheck) => void; reject: (error: Error) => void }>();

  shard(checkpointPath: string, spec: unknown, options: CheckOptionsRecord, processors: number): Promise<ShardedCheck> {
    const worker = this.started();
    const id = this.nextId++;
    // Held while it works, so that a caller awaiting a plan keeps the process alive.
    worker.ref();
    return new Promise<ShardedCheck>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, checkpointPath, spec, options, processors } satisfies PlanRequest);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.terminate();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_URL);
    worker.on("message", (reply: PlanReply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (!waiting) return;
      if ("sharded" in reply) waiting.resolve(reply.sharded);
      else waiting.reject(reply.error.input ? new UnprocessableEntityException(reply.error.message) : new Error(`planning failed: ${reply.error.message}`));
    });
    const lost = (reason: string) => {
      if (this.worker === worker) this.worker = undefined;
      for (const { reject } of this.pending.values()) reject(new Error(`the planning thread ${reason}`));
      this.pending.clear();
    };
    worker.on("error", (error) => lost(`failed: ${error.message}`));
    worker.on("exit", (code) => lost(`exited with code ${code}`));
    this.worker = worker;
    return worker;
  }
}
