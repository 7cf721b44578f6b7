import type { HistoryQuery, Verdict } from "@gradcheck/contracts";
import type { HistoryEntry, HistoryFilter } from "@gradcheck/db";
import Table from "cli-table3";
import pc from "picocolors";
import type { CliConfig } from "../config.js";
import { assertServerForKey, clientFor } from "../coordinator-client.js";
import { historyLocation, withDatabaseFor } from "../database.js";
import type { Output } from "../io.js";
import { formatNumber, formatTime } from "../format.js";
import { TABLE_CHARS, VERDICT_STYLE } from "../render.js";

export interface HistoryCommandOptions extends HistoryQuery {
  readonly json: boolean;
  /** read a coordinator's history instead of this machine's */
  readonly server?: string;
  readonly key?: string;
}

/** What the filter asks for, in words: `model "m", run "r", verdict fail`. */
function describeFilter(filter: HistoryFilter): string {
  const parts = [
    filter.model !== undefined ? `model "${filter.model}"` : undefined,
    filter.run !== undefined ? `run "${filter.run}"` : undefined,
    filter.verdict !== undefined ? `verdict ${filter.verdict}` : undefined,
    filter.mode !== undefined ? `mode ${filter.mode}` : undefined,
    filter.stepFrom !== undefined || filter.stepTo !== undefined ? `steps ${filter.stepFrom ?? 0}..${filter.stepTo ?? "∞"}` : undefined,
    filter.since !== undefined ? `finished since ${formatTime(filter.since)} UTC` : undefined,
  ].filter((part) => part !== undefined);
  return parts.join(", ");
}

/** The entries and where they were read: the local history, or a coordinator's (every model's, when none is named). */
async function readHistory(filter: HistoryFilter, options: HistoryCommandOptions, output: Output, config: CliConfig): Promise<{ entries: HistoryEntry[]; location: string }> {
  if (options.server !== undefined) {
    const client = clientFor(options, config, "viewer");
    const { model: _, ...query } = filter;
    const models = filter.model !== undefined ? [filter.model] : await client.modelNames();
    const entries: HistoryEntry[] = [];
    for (const model of models) {
      for (const entry of await client.history(model, query)) entries.push({ ...entry, finishedAt: entry.finishedAt === null ? null : new Date(entry.finishedAt) });
    }
    return { entries, location: `the history of the coordinator at ${client.server}` };
  }
  const entries = await withDatabaseFor(config, "read", ({ history }) => history.history(filter), { warn: (message) => output.err(`gradcheck: warning: ${message}`) });
  return { entries, location: historyLocation(config) };
}

/** `gradcheck history [MODEL]`: checks across training checkpoints, ordered by run and step; says which history it read. */
export async function historyCommand(model: string | undefined, options: HistoryCommandOptions, output: Output, config: CliConfig): Promise<number> {
  assertServerForKey(options);
  const filter: HistoryFilter = { model, run: options.run, verdict: options.verdict, mode: options.mode, stepFrom: options.stepFrom, stepTo: options.stepTo, since: options.since };
  const { entries, location } = await readHistory(filter, options, output, config);
  if (options.json) {
    output.out(JSON.stringify(entries, null, 2));
    return 0;
  }
  const described = describeFilter(filter);
  if (entries.length === 0) {
    output.out(described ? `No checks of ${described} in ${location}.` : `No checks in ${location} yet.`);
    return 0;
  }
  const table = new Table({
    head: ["check", "model", "spec", "run", "step", "mode", "verdict", "rel. difference", "failing tensors", "finished"],
    style: { head: [], border: [] },
    chars: TABLE_CHARS,
    colAligns: ["left", "left", "left", "left", "right", "left", "left", "right", "left", "left"],
  });
  for (const entry of entries) {
    const failing = entry.tensors.filter((tensor) => tensor.verdict === "fail").map((tensor) => tensor.name);
    table.push([
      entry.checkId.slice(0, 8),
      entry.model,
      `v${entry.specVersion}`,
      entry.run,
      entry.step === null ? "?" : entry.step.toLocaleString("en-US"),
      entry.mode,
      entry.verdict ? VERDICT_STYLE[entry.verdict as Verdict](entry.verdict) : "—",
      entry.relativeDifference === null ? "—" : formatNumber(entry.relativeDifference),
      failing.join(", ") || pc.dim("none"),
      entry.finishedAt ? formatTime(entry.finishedAt) : "—",
    ]);
  }
  const count = `${entries.length} check${entries.length === 1 ? "" : "s"}`;
  output.out(pc.dim(`${count}${described ? ` of ${described}` : ""} in ${location}; gradcheck show CHECK prints one`));
  output.out(table.toString());
  return 0;
}
