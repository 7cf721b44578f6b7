import type { PerturbedCostBackend } from "@gradcheck/compute";
import { checkSpecJson, type CheckSpec } from "@gradcheck/models";
import type { CheckInput } from "./check-input.js";
import { loadCheckInput } from "./load-check-input.js";
import { loadGraphCheckInput } from "./load-graph-input.js";
import { backendForInput } from "./checked-model.js";

export interface LoadedCheckpoint {
  readonly input: CheckInput;
  readonly backend: PerturbedCostBackend;
}

/**
 * Keeps the last checkpoint loaded, with its backend (the unperturbed forward pass): the
 * shards and checks of one checkpoint tend to come one after another.
 */
export class LastCheckpoint {
  private last?: { readonly key: string; readonly loaded: Promise<LoadedCheckpoint> };

  load(path: string, spec: CheckSpec, label = path): Promise<LoadedCheckpoint> {
    const key = JSON.stringify([path, checkSpecJson(spec)]);
    if (this.last?.key !== key) {
      // Forget the previous checkpoint's arrays before reading the next; a failed load is not kept.
      this.last = undefined;
      const loaded = loadCheckInputOf(path, spec, label).then((input) => ({ input, backend: backendForInput(input) }));
      this.last = { key, loaded };
      loaded.catch(() => {
        if (this.last?.loaded === loaded) this.last = undefined;
      });
    }
    return this.last.loaded;
  }
}

/** The check input of a checkpoint for a spec of either version. */
export function loadCheckInputOf(path: string, spec: CheckSpec, label = path): Promise<CheckInput> {
  return spec.version === 1 ? loadCheckInput(path, spec.spec, label) : loadGraphCheckInput(path, spec.graph, label);
}
