import { exitCodeFor, type Report } from "@gradcheck/contracts";
import type { CliConfig } from "../config.js";
import { assertServerForKey, clientFor } from "../coordinator-client.js";
import { historyLocation, withDatabaseFor } from "../database.js";
import { InputError } from "../errors.js";
import type { Output } from "../io.js";
import { renderReport } from "../render.js";

export interface ShowCommandOptions {
  readonly json: boolean;
  readonly server?: string;
  readonly key?: string;
}

/** The shortest prefix of a check id that `show` looks up in the local history (the history table shows 8). */
const SHORTEST_PREFIX = 8;

/** The stored report of a check: from a coordinator (by its whole id) or from this machine's history (by id or prefix). */
async function storedReport(reference: string, options: ShowCommandOptions, output: Output, config: CliConfig): Promise<Report> {
  if (options.server !== undefined) {
    const state = await clientFor(options, config, "viewer").getCheck(reference);
    if (!state.report) throw new InputError(`check ${state.id} has no report: it is ${state.status}${state.error ? ` (${state.error})` : ""}`);
    return state.report;
  }
  if (reference.length < SHORTEST_PREFIX) throw new InputError(`"${reference}" is too short: give a check's id, or its first ${SHORTEST_PREFIX} characters or more (gradcheck history shows them)`);
  const found = await withDatabaseFor(config, "read", ({ history }) => history.findReports(reference), { warn: (message) => output.err(`gradcheck: warning: ${message}`) });
  if (found.length === 0) throw new InputError(`no finished check in ${historyLocation(config)} has the id or prefix "${reference}" (gradcheck history lists them)`);
  if (found.length > 1) throw new InputError(`"${reference}" is the prefix of several checks (${found.map((entry) => entry.checkId).join(", ")}, ...): give more of it`);
  return found[0].report;
}

/**
 * `gradcheck show CHECK`: a stored report, printed as the check printed it (without the
 * per-coordinate error strips, which are not stored); exit 0 for pass or warn, 1 for fail.
 */
export async function showCommand(reference: string, options: ShowCommandOptions, output: Output, config: CliConfig): Promise<number> {
  assertServerForKey(options);
  const report = await storedReport(reference, options, output, config);
  output.out(options.json ? JSON.stringify(report, null, 2) : renderReport(report));
  return exitCodeFor(report.verdict);
}
