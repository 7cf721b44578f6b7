import { loadCheckFiles } from "@gradcheck/cli";
import { DEFAULT_CHECK_OPTIONS, runLocalCheck, type CheckOptions } from "@gradcheck/engine";

/**
 * Child process of the benchmark: one check from files (full mode unless a mode is given),
 * in a fresh process, so that its peak memory (threads included) is the check's alone.
 * Prints one JSON line.
 */
const [checkpointPath, modelPath, threadsArgument, modeArgument] = process.argv.slice(2);
const started = performance.now();
const input = await loadCheckFiles(checkpointPath, modelPath);
const loaded = performance.now();
const threads = threadsArgument === "auto" ? undefined : Number(threadsArgument);
const mode = (modeArgument ?? "full") as CheckOptions["mode"];
const report = await runLocalCheck(input, { ...DEFAULT_CHECK_OPTIONS, mode, threads });
const finished = performance.now();
console.log(
  JSON.stringify({
    verdict: report.verdict,
    coordinates: report.coordinates.total,
    checked: report.coordinates.checked,
    costEvaluations: report.costEvaluations,
    loadMs: loaded - started,
    checkMs: finished - loaded,
    totalMs: finished - started,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  }),
);
