import { exitCodeFor } from "@gradcheck/contracts";
import { runLocalCheck } from "@gradcheck/engine";
import type { Output } from "../io.js";
import { loadCheckInput } from "../load-check-input.js";
import { createProgress } from "../progress.js";
import { renderReport } from "../render.js";

export interface CheckCommandOptions {
  readonly model: string;
  readonly eps: number;
  readonly threads?: number;
  readonly top: number;
  readonly json: boolean;
}

/** `gradcheck check`: exit 0 on pass or warn, 1 on fail. */
export async function checkCommand(checkpoint: string, options: CheckCommandOptions, output: Output): Promise<number> {
  const input = await loadCheckInput(checkpoint, options.model);
  const progress = options.json ? undefined : createProgress();
  try {
    const report = await runLocalCheck(input, {
      eps: options.eps,
      top: options.top,
      threads: options.threads,
      onProgress: (done, total) => progress?.update(done, total),
    });
    progress?.stop();
    output.out(options.json ? JSON.stringify(report, null, 2) : renderReport(report));
    return exitCodeFor(report.verdict);
  } finally {
    progress?.stop();
  }
}
