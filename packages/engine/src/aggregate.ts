import type { BackendIdentity } from "@gradcheck/compute";
import { CoordinateStatus } from "@gradcheck/core";
import { identityOf, type ShardResult } from "./shard.js";

export interface MergedResults {
  readonly numeric: Float64Array;
  readonly status: Uint8Array;
  /** ScreenOutcome per item, when some shard ran a float32 screen (0, float64, elsewhere) */
  readonly screen?: Uint8Array;
}

/** Items a backend computed, as the report lists them. */
export interface BackendUsage extends BackendIdentity {
  readonly items: number;
}

/**
 * Places every shard's results at its positions in the plan. Refuses gaps and double
 * counting, so a shard retried after a crash can never be counted twice.
 */
export function mergeShardResults(count: number, results: readonly ShardResult[]): MergedResults {
  const numeric = new Float64Array(count);
  const status = new Uint8Array(count);
  const screen = results.some((result) => result.screen) ? new Uint8Array(count) : undefined;
  const covered = new Uint8Array(count);
  for (const { shard, numeric: values, status: flags, screen: outcomes } of results) {
    if (shard.start < 0 || shard.end > count || values.length !== shard.end - shard.start) {
      throw new Error(`shard ${shard.index} [${shard.start}, ${shard.end}) does not fit a plan of ${count} items`);
    }
    for (let i = shard.start; i < shard.end; i++) {
      if (covered[i]) throw new Error(`item ${i} was computed twice (shard ${shard.index})`);
      covered[i] = 1;
    }
    numeric.set(values, shard.start);
    status.set(flags, shard.start);
    if (outcomes) screen!.set(outcomes, shard.start);
  }
  const gap = covered.indexOf(0);
  if (gap !== -1) throw new Error(`item ${gap} was not computed by any shard`);
  return screen ? { numeric, status, screen } : { numeric, status };
}

/** Which backends computed the shards, and how many items each, in a stable order. */
export function backendUsage(results: readonly ShardResult[]): BackendUsage[] {
  const usage = new Map<string, BackendUsage>();
  for (const { shard, backend } of results) {
    const key = `${backend.name}/${backend.mode}/${backend.precision}`;
    const items = (usage.get(key)?.items ?? 0) + shard.end - shard.start;
    usage.set(key, { ...identityOf(backend), items });
  }
  return [...usage.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, value]) => value);
}

/** Spreads results over a coordinate plan into θ-sized arrays; coordinates outside the plan stay unchecked. */
export function scatterToTheta(total: number, plan: Int32Array, merged: MergedResults): MergedResults {
  // A full check's plan is every coordinate in order: its results are θ-sized already.
  if (isEveryCoordinate(total, plan)) return merged;
  const numeric = new Float64Array(total);
  const status = new Uint8Array(total).fill(CoordinateStatus.unchecked);
  const screen = merged.screen ? new Uint8Array(total) : undefined;
  // a plain loop: a callback per coordinate costs more than the copy
  for (let position = 0; position < plan.length; position++) {
    const index = plan[position];
    numeric[index] = merged.numeric[position];
    status[index] = merged.status[position];
    if (screen) screen[index] = merged.screen![position];
  }
  return screen ? { numeric, status, screen } : { numeric, status };
}

function isEveryCoordinate(total: number, plan: Int32Array): boolean {
  if (plan.length !== total) return false;
  for (let position = 0; position < total; position++) if (plan[position] !== position) return false;
  return true;
}
