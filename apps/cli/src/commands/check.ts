import { hostname } from "node:os";
import { basename } from "node:path";
import { backendLabel, DEFAULT_RUN, exitCodeFor, provenanceFor, recordedCheckOptions, type Report } from "@gradcheck/contracts";
import type { FinishedCheck } from "@gradcheck/db";
import { modelNameOf, recordedSpecOf, runLocalCheckWithResults, type CheckInput } from "@gradcheck/engine";
import type { BackendOptionValues, CheckOptionValues, RunOptionValues } from "../check-options.js";
import type { CliConfig } from "../config.js";
import { historyLocation, openDatabase, type OpenDatabase } from "../database.js";
import { coordinateErrorsFor } from "../coordinate-errors.js";
import { writeHtmlReport } from "../html/write-html-report.js";
import { InputError } from "../errors.js";
import { assertWritable, fileFingerprint } from "../files.js";
import type { Output } from "../io.js";
import { loadCheckFiles } from "../load-check-files.js";
import { createProgress } from "../progress.js";
import { renderReport } from "../render.js";

export interface CheckCommandOptions extends CheckOptionValues, BackendOptionValues, RunOptionValues {
  readonly model: string;
  readonly threads?: number;
  readonly json: boolean;
  readonly html?: string;
  /** record the check in the history (--no-save turns it off) */
  readonly save: boolean;
}

/** `gradcheck check`: exit 0 on pass or warn, 1 on fail. */
export async function checkCommand(checkpoint: string, options: CheckCommandOptions, output: Output, config: CliConfig): Promise<number> {
  assertBackendFits(options);
  if (options.html) await assertWritable(options.html, "HTML report");
  const loaded = await loadCheckFiles(checkpoint, options.model);
  const input = withStep(loaded, options.step, output);
  // for the report's provenance and the history; hashed while the check runs
  const fingerprint = fileFingerprint(checkpoint);
  fingerprint.catch(() => undefined);
  // A PostgreSQL history opens while the check runs (Prisma takes a quarter of a second to
  // load); the embedded one takes the check into its journal instead, in milliseconds.
  const early = options.save && config.databaseUrl ? openDatabase(config).catch(() => undefined) : undefined;
  let handedOver = false;
  const progress = options.json ? undefined : createProgress();
  const startedAt = new Date();
  try {
    const checked = await runLocalCheckWithResults(input, {
      ...options,
      onProgress: (done, total) => progress?.update(done, total),
    });
    progress?.stop();
    const finishedAt = new Date();
    const { contentHash, sizeBytes } = await fingerprint.catch((error: NodeJS.ErrnoException) => {
      throw new InputError(`${checkpoint}: cannot read the file again to hash it (${error.code ?? error.message})`);
    });
    const { results } = checked;
    const report: Report = {
      ...checked.report,
      provenance: provenanceFor(checked.report, {
        checkpoint: { file: basename(checkpoint), sha256: contentHash, sizeBytes },
        run: options.run,
        checkedAt: finishedAt.toISOString(),
        host: hostname(),
      }),
    };
    // the strips and heatmaps only: JSON carries the report alone
    const coordinateErrors = options.html || !options.json ? coordinateErrorsFor(input, report, results) : [];
    if (options.html) await writeHtmlReport(options.html, report, coordinateErrors).catch((error: NodeJS.ErrnoException) => {
      throw new InputError(`${options.html}: cannot write the HTML report (${error.code ?? error.message})`);
    });
    output.out(options.json ? JSON.stringify(report, null, 2) : renderReport(report, coordinateErrors));
    if (options.html && !options.json) output.out(`\nHTML report written to ${options.html}`);
    if (options.save) {
      handedOver = true;
      await save({ contentHash, sizeBytes, step: loaded.step }, input, report, options, { startedAt, finishedAt }, output, config, early);
    }
    return exitCodeFor(report.verdict);
  } finally {
    progress?.stop();
    if (early && !handedOver) await (await early)?.close().catch(() => undefined);
  }
}

/** The input at --step, when given: the report and the history state that step. */
function withStep(input: CheckInput, step: number | undefined, output: Output): CheckInput {
  if (step === undefined || step === input.step) return input;
  if (input.step !== null) output.err(`gradcheck: warning: --step ${step} replaces the step ${input.step} in the checkpoint's metadata`);
  return { ...input, step };
}

/** Refuses backend flags that cannot take effect, rather than ignore them. */
function assertBackendFits(options: CheckCommandOptions): void {
  if (options.backend === "gpujs" && options.mode === "directional") {
    throw new InputError("--backend gpujs screens coordinates; directional mode runs on the cpu backend only: drop --backend gpujs or use --mode full or sample");
  }
  if (options.gpujsMode !== undefined && options.backend === "cpu") {
    throw new InputError(`--gpujs-mode ${options.gpujsMode} needs --backend gpujs (or auto)`);
  }
}

/**
 * Records the check in the history. The report is already out: a history that cannot be
 * reached costs a warning, never the verdict.
 */
async function save(
  checkpoint: { readonly contentHash: string; readonly sizeBytes: number; /** its metadata's */ readonly step: number | null },
  input: CheckInput,
  report: Report,
  options: CheckCommandOptions,
  times: { startedAt: Date; finishedAt: Date },
  output: Output,
  config: CliConfig,
  early?: Promise<OpenDatabase | undefined>,
): Promise<void> {
  try {
    const { contentHash, sizeBytes } = checkpoint;
    const check: FinishedCheck = {
      model: { name: modelNameOf(input), spec: recordedSpecOf(input) },
      checkpoint: { contentHash, step: checkpoint.step, dtype: input.precision, sizeBytes },
      run: options.run,
      step: input.step,
      options: recordedCheckOptions(options),
      backend: backendLabel(report.compute),
      report,
      ...times,
    };
    if (!config.databaseUrl) {
      // the next reader of the history moves it into the database
      const { journalFinishedCheck } = await import("@gradcheck/db/journal");
      await journalFinishedCheck(config.dataDir, check);
    } else {
      const database = (await early) ?? (await openDatabase(config));
      try {
        await database.history.recordFinishedCheck(check);
      } finally {
        await database.close();
      }
    }
    if (!options.json) output.out(`Saved to ${historyLocation(config)}: gradcheck history ${modelNameOf(input)}${options.run === DEFAULT_RUN ? "" : ` --run ${options.run}`}`);
  } catch (error) {
    output.err(
      `gradcheck: warning: the check was not saved to ${historyLocation(config)} (${error instanceof Error ? error.message : String(error)}); --no-save skips saving`,
    );
  }
}
