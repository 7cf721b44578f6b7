import type { Verdict } from "@gradcheck/contracts";
import type { HistoryEntry } from "@gradcheck/db";
import Table from "cli-table3";
import pc from "picocolors";
import type { CliConfig } from "../config.js";
import { InputError } from "../errors.js";
import { historyLocation, withDatabase } from "../database.js";
import type { Output } from "../io.js";
import { formatNumber } from "../format.js";
import { TABLE_CHARS, VERDICT_STYLE } from "../render.js";

/** `gradcheck history [MODEL]`: checks across training checkpoints, ordered by step. */
export async function historyCommand(model: string | undefined, options: { json: boolean }, output: Output, config: CliConfig): Promise<number> {
  let entries: HistoryEntry[];
  try {
    entries = await withDatabase(config, ({ history }) => history.history(model), { warn: (message) => output.err(`gradcheck: warning: ${message}`) });
  } catch (error) {
    throw new InputError(`cannot read ${historyLocation(config)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (options.json) {
    output.out(JSON.stringify(entries, null, 2));
    return 0;
  }
  if (entries.length === 0) {
    output.out(model ? `No checks of model "${model}" in ${historyLocation(config)}.` : `No checks in ${historyLocation(config)} yet.`);
    return 0;
  }
  const table = new Table({
    head: ["model", "step", "mode", "verdict", "rel. difference", "failing tensors", "finished"],
    style: { head: [], border: [] },
    chars: TABLE_CHARS,
    colAligns: ["left", "right", "left", "left", "right", "left", "left"],
  });
  for (const entry of entries) {
    const failing = entry.tensors.filter((tensor) => tensor.verdict === "fail").map((tensor) => tensor.name);
    table.push([
      entry.model,
      entry.step === null ? "?" : entry.step.toLocaleString("en-US"),
      entry.mode,
      entry.verdict ? VERDICT_STYLE[entry.verdict as Verdict](entry.verdict) : "—",
      entry.relativeDifference === null ? "—" : formatNumber(entry.relativeDifference),
      failing.join(", ") || pc.dim("none"),
      entry.finishedAt ? entry.finishedAt.toISOString().replace("T", " ").slice(0, 19) : "—",
    ]);
  }
  output.out(table.toString());
  return 0;
}
