import type { BackendIdentity, PerturbedCostBackend } from "@gradcheck/compute";
import type { Layout, StepRule } from "@gradcheck/core";
import { tensorDirections, type DirectionRef } from "./directions.js";
import type { Shard } from "./plan.js";

/** What one shard computes: central differences for θ indices, or directional derivatives. */
export type ShardWork =
  | { readonly kind: "coordinates"; readonly indices: Int32Array }
  | { readonly kind: "directions"; readonly directions: readonly DirectionRef[] };

/** How derivatives are taken; the same for every shard of a check. */
export interface ShardSettings {
  readonly step: StepRule;
  readonly richardson: boolean;
  readonly seed: number;
  /** h along a unit direction */
  readonly directionStep: number;
}

/** One shard's derivatives, in the order of its work items. */
export interface ShardResult {
  readonly shard: Shard;
  readonly numeric: Float64Array;
  readonly status: Uint8Array;
  /** ScreenOutcome per item, when a float32 screen ran */
  readonly screen?: Uint8Array;
  /** what computed them */
  readonly backend: BackendIdentity;
}

/** A backend's identity alone, without its arrays and methods. */
export const identityOf = ({ name, mode, precision }: BackendIdentity): BackendIdentity => ({ name, mode, precision });

/** The shard function: the same in a local thread and in a cluster worker. */
export function runShard(
  backend: PerturbedCostBackend,
  layout: Layout,
  shard: Shard,
  work: ShardWork,
  settings: ShardSettings,
  onProgress?: (done: number) => void,
): ShardResult {
  const backendIdentity = identityOf(backend);
  if (work.kind === "coordinates") {
    return { shard, ...backend.centralDifferences(work.indices, settings, onProgress), backend: backendIdentity };
  }
  const directions = tensorDirections(layout, work.directions, settings.seed);
  const result = backend.directionalDerivatives(directions, settings.directionStep, settings.richardson);
  onProgress?.(work.directions.length);
  return { shard, ...result, backend: backendIdentity };
}
