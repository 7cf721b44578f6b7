import { basename } from "node:path";
import { openSafetensors } from "@gradcheck/checkpoint";
import { exitCodeFor, isFinished, type CheckState } from "@gradcheck/contracts";
import { checkSpecJson, matchCheckpointToGraph, matchCheckpointToModel, type CheckSpec } from "@gradcheck/models";
import pc from "picocolors";
import { checkOptionsFrom, type CheckOptionValues, type RunOptionValues } from "../check-options.js";
import type { CliConfig } from "../config.js";
import { clientFor, CoordinatorClient, CoordinatorProtocolError } from "../coordinator-client.js";
import { fileFingerprint } from "../files.js";
import { EXIT } from "../errors.js";
import type { Output } from "../io.js";
import { readModelSpec } from "../load-check-files.js";
import { createProgress } from "../progress.js";
import { renderReport } from "../render.js";

export interface SubmitCommandOptions extends CheckOptionValues, RunOptionValues {
  readonly model: string;
  readonly server?: string;
  readonly key?: string;
  readonly wait: boolean;
  readonly json: boolean;
}

/**
 * `gradcheck submit`: registers the model, uploads the checkpoint and submits the check to a
 * coordinator. Without --wait it prints the check and exits 0; with --wait it follows the check
 * and ends like `gradcheck check`: the report, exit 0 on pass or warn, 1 on fail.
 */
export async function submitCommand(checkpoint: string, options: SubmitCommandOptions, output: Output, config: CliConfig): Promise<number> {
  const client = clientFor(options, config, "submitter");
  // Everything that can be checked here is, so an obvious mistake fails before any upload.
  const spec = await readModelSpec(options.model);
  await checkCheckpointHeader(checkpoint, spec);

  const json = checkSpecJson(spec);
  // a changed spec under the same name is the model's next version: the check runs under this one
  const { version } = await client.registerModel(json);
  // A checkpoint the coordinator already holds is not sent again (checkpoints can be large).
  const { contentHash } = await fileFingerprint(checkpoint);
  const info = (await client.findCheckpoint(json.name, contentHash)) ?? (await client.uploadCheckpoint(json.name, checkpoint)).info;
  const { state, created } = await client.submitCheck({ model: json.name, checkpoint: info.hash, options: checkOptionsFrom(options), run: options.run, step: options.step, checkpointFile: basename(checkpoint), specVersion: version });
  if (!options.wait) {
    output.out(options.json ? JSON.stringify(state, null, 2) : describeSubmitted(state, created, client));
    return EXIT.ok;
  }
  if (!options.json) {
    output.err(
      `Check ${state.id} ${created ? "submitted" : "was submitted before"} (${state.status}); waiting for its report. ` +
        "Ctrl-C stops the waiting, not the check.",
    );
  }
  return finish(await follow(client, state, !options.json), options, output, client);
}

/**
 * Reads only the checkpoint's header and matches its tensors to the model: a missing file, a file
 * that is not safetensors, or one made for another model fails here instead of after an upload.
 * The values themselves are for the coordinator to check.
 */
async function checkCheckpointHeader(path: string, spec: CheckSpec): Promise<void> {
  const file = await openSafetensors(path);
  try {
    if (spec.version === 1) matchCheckpointToModel(spec.spec, new Map(file.header.tensors.map((tensor) => [tensor.name, tensor.shape])), path);
    else matchCheckpointToGraph(spec.graph, new Map(file.header.tensors.map((tensor) => [tensor.name, { shape: tensor.shape, dtype: tensor.dtype }])), path);
  } finally {
    await file.close();
  }
}

function describeSubmitted(state: CheckState, created: boolean, client: CoordinatorClient): string {
  const step = state.step === null ? "step unknown" : `step ${state.step}`;
  return [
    `Check ${pc.bold(state.id)} ${created ? "" : "was submitted before: "}${state.status}` +
      pc.dim(` (model ${state.model} spec v${state.specVersion}, run ${state.run}, ${step}, checkpoint ${state.checkpoint.slice(0, 12)})`),
    `Follow it: GET ${client.checkUrl(state.id)}` + pc.dim(" (or run this command again with --wait)"),
    // a fail is not this command's exit code without --wait: say where the verdict will be
    `Its report, once done: gradcheck show ${state.id} --server ${client.server}` + pc.dim(" (exit 1 on a fail, for scripts)"),
  ].join("\n");
}

/** Follows the check to its final state, with a progress bar on a terminal. */
async function follow(client: CoordinatorClient, submitted: CheckState, showProgress: boolean): Promise<CheckState> {
  if (isFinished(submitted.status)) return submitted;
  const progress = showProgress ? createProgress() : undefined;
  let last = submitted;
  try {
    for await (const state of client.followCheck(submitted.id)) {
      last = state;
      // Until the check is planned its total is 0: nothing to show yet.
      if (state.progress.itemsTotal > 0) progress?.update(state.progress.itemsDone, state.progress.itemsTotal);
    }
  } finally {
    progress?.stop();
  }
  return last;
}

/** The final state, shown as `gradcheck check` shows a local one. */
function finish(state: CheckState, options: SubmitCommandOptions, output: Output, client: CoordinatorClient): number {
  switch (state.status) {
    case "done": {
      if (!state.report) throw new CoordinatorProtocolError(`check ${state.id} is done, but the coordinator at ${client.server} sent no report`);
      // The cluster keeps no per-coordinate errors, so the report comes without error strips.
      output.out(options.json ? JSON.stringify(state.report, null, 2) : renderReport(state.report));
      if (!options.json) output.out(pc.dim(`\nChecked on the cluster (backend ${state.backend}): GET ${client.checkUrl(state.id)}`));
      return exitCodeFor(state.report.verdict);
    }
    case "failed":
      output.err(`gradcheck: error: check ${state.id} failed on the cluster: ${oneLine(state.error) || "the coordinator gave no reason"}`);
      return EXIT.internal;
    case "cancelled":
      output.err(`gradcheck: error: check ${state.id} was cancelled${state.error ? ` (${oneLine(state.error)})` : ""}`);
      return EXIT.badInput;
    default:
      // followCheck ends only on a finished state; anything else is the coordinator's doing.
      throw new CoordinatorProtocolError(`the coordinator at ${client.server} stopped reporting check ${state.id} while it was ${state.status}`);
  }
}

function oneLine(text: string | null): string {
  return (text ?? "").replace(/\s*[\r\n]+\s*/g, " ").trim();
}
