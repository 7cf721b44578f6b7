import { CpuBackend, GraphBackend, type PerturbedCostBackend } from "@gradcheck/compute";
import type { Layout } from "@gradcheck/core";
import { parameterLayout, type ModelSpec } from "@gradcheck/models/evaluator";
import type { CheckInput } from "./check-input.js";
import type { Shard } from "./plan.js";
import type { ShardResult, ShardSettings, ShardWork } from "./shard.js";

/** What a worker thread needs to rebuild the backend by itself: plain data, as threads receive it. */
export type ShardJob = {
  readonly theta: Float64Array;
  readonly inputs: Float64Array;
  readonly targets: Float64Array;
  readonly batchSize: number;
  readonly settings: ShardSettings;
} & (
  | { readonly spec: ModelSpec; readonly graphSpec?: undefined }
  /** a version 2 network: its spec (compiled again in the thread) and buffers */
  | { readonly graphSpec: unknown; readonly buffers: Float64Array; readonly spec?: undefined }
);

export function shardJobFor(input: CheckInput, settings: ShardSettings): ShardJob {
  const common = { theta: input.theta, inputs: input.batch.inputs, targets: input.batch.targets, settings };
  return input.graph
    ? { ...common, batchSize: input.batch.m, graphSpec: input.graph.spec, buffers: input.buffers }
    : { ...common, batchSize: input.batch.size, spec: input.spec };
}

/** A thread's backend and layout, rebuilt from its job. */
export async function threadModel(job: ShardJob): Promise<{ readonly backend: PerturbedCostBackend; readonly layout: Layout }> {
  if (job.spec) return { backend: new CpuBackend(job.spec, job.theta, { inputs: job.inputs, targets: job.targets, size: job.batchSize }), layout: parameterLayout(job.spec) };
  // the graph's compiler (and zod) load only in threads that check a version 2 network
  const { compileGraph } = await import("@gradcheck/models");
  const graph = compileGraph(job.graphSpec);
  const backend = new GraphBackend(graph, job.theta, job.buffers, { m: job.batchSize, inputs: job.inputs, targets: job.targets });
  return { backend, layout: { tensors: graph.parameters, total: graph.parameterCount } };
}

/** Messages between the pool and its threads. */
export type ToThread = { readonly type: "shard"; readonly shard: Shard; readonly work: ShardWork };
export type FromThread =
  | { readonly type: "progress"; readonly shardIndex: number; readonly done: number }
  | { readonly type: "result"; readonly result: ShardResult }
  | { readonly type: "error"; readonly message: string };
