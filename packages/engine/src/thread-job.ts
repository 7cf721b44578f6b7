import { CpuBackend } from "@gradcheck/compute";
import type { ModelSpec } from "@gradcheck/models/evaluator";
import type { CheckInput } from "./check-input.js";
import type { Shard } from "./plan.js";
import type { ShardResult, ShardSettings, ShardWork } from "./shard.js";

/** What a worker thread (or a cluster worker) needs to rebuild the backend by itself. */
export interface ShardJob {
  readonly spec: ModelSpec;
  readonly theta: Float64Array;
  readonly inputs: Float64Array;
  readonly targets: Float64Array;
  readonly batchSize: number;
  readonly settings: ShardSettings;
}

export function backendFor(job: ShardJob): CpuBackend {
  return new CpuBackend(job.spec, job.theta, { inputs: job.inputs, targets: job.targets, size: job.batchSize });
}

/** The backend of a loaded check input: J(θ) and its perturbations, with the unperturbed pass cached. */
export function backendForInput(input: Pick<CheckInput, "spec" | "theta" | "batch">): CpuBackend {
  return new CpuBackend(input.spec, input.theta, input.batch);
}

/** Messages between the pool and its threads. */
export type ToThread = { readonly type: "shard"; readonly shard: Shard; readonly work: ShardWork };
export type FromThread =
  | { readonly type: "progress"; readonly shardIndex: number; readonly done: number }
  | { readonly type: "result"; readonly result: ShardResult }
  | { readonly type: "error"; readonly message: string };
