import type { CpuBackend } from "@gradcheck/compute";
import type { ModelSpec } from "@gradcheck/models/evaluator";
import type { CheckInput } from "./check-input.js";
import { loadCheckInput } from "./load-check-input.js";
import { backendForInput } from "./thread-job.js";

export interface LoadedCheckpoint {
  readonly input: CheckInput;
  readonly backend: CpuBackend;
}

/**
 * Keeps the last checkpoint loaded, with its backend (the unperturbed forward pass): the
 * shards and checks of one checkpoint tend to come one after another.
 */
export class LastCheckpoint {
  private last?: { readonly key: string; readonly loaded: Promise<LoadedCheckpoint> };

  load(path: string, spec: ModelSpec, label = path): Promise<LoadedCheckpoint> {
    const key = JSON.stringify([path, spec]);
    if (this.last?.key !== key) {
      // Forget the previous checkpoint's arrays before reading the next; a failed load is not kept.
      this.last = undefined;
      const loaded = loadCheckInput(path, spec, label).then((input) => ({ input, backend: backendForInput(input) }));
      this.last = { key, loaded };
      loaded.catch(() => {
        if (this.last?.loaded === loaded) this.last = undefined;
      });
    }
    return this.last.loaded;
  }
}
