import { exitCodeFor } from "@gradcheck/contracts";
import { runLocalCheckWithResults, type CheckMode } from "@gradcheck/engine";
import { coordinateErrorsFor } from "../coordinate-errors.js";
import { writeHtmlReport } from "../html/write-html-report.js";
import { InputError } from "../errors.js";
import { assertWritable } from "../files.js";
import type { Output } from "../io.js";
import { loadCheckInput } from "../load-check-input.js";
import { createProgress } from "../progress.js";
import { renderReport } from "../render.js";

export interface CheckCommandOptions {
  readonly model: string;
  readonly mode: CheckMode;
  readonly eps?: number;
  readonly richardson: boolean;
  readonly samples: number;
  readonly directions: number;
  readonly seed: number;
  readonly threads?: number;
  readonly top: number;
  readonly json: boolean;
  readonly html?: string;
}

/** `gradcheck check`: exit 0 on pass or warn, 1 on fail. */
export async function checkCommand(checkpoint: string, options: CheckCommandOptions, output: Output): Promise<number> {
  if (options.html) await assertWritable(options.html, "HTML report");
  const input = await loadCheckInput(checkpoint, options.model);
  const progress = options.json ? undefined : createProgress();
  try {
    const { report, results } = await runLocalCheckWithResults(input, {
      ...options,
      onProgress: (done, total) => progress?.update(done, total),
    });
    progress?.stop();
    const coordinateErrors = coordinateErrorsFor(input, report, results);
    if (options.html) await writeHtmlReport(options.html, report, coordinateErrors).catch((error: NodeJS.ErrnoException) => {
      throw new InputError(`${options.html}: cannot write the HTML report (${error.code ?? error.message})`);
    });
    output.out(options.json ? JSON.stringify(report, null, 2) : renderReport(report, coordinateErrors));
    if (options.html && !options.json) output.out(`\nHTML report written to ${options.html}`);
    return exitCodeFor(report.verdict);
  } finally {
    progress?.stop();
  }
}
