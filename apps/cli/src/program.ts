import { ALERT_KINDS, API_ROLES, CHECK_MODES, DEFAULT_REGRESSION_FACTOR, GRADCHECK_VERSION, MAX_STEP, MIN_AUDIT_INTERVAL_MS, VERDICTS, type AlertKind } from "@gradcheck/contracts";
import { parseDuration } from "@gradcheck/audits";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { addBackendOptions, addCheckOptions, addRunOptions, integerIn, isoTime, runName } from "./check-options.js";
import { checkCommand } from "./commands/check.js";
import { DEFAULT_DEMO_DIR, demoCommand } from "./commands/demo.js";
import { readConfig, type CliConfig } from "./config.js";
import { historyCommand } from "./commands/history.js";
import { showCommand } from "./commands/show.js";
import { createKeyCommand, listKeysCommand, revokeKeyCommand } from "./commands/keys.js";
import { submitCommand } from "./commands/submit.js";
import { watchCommand } from "./commands/watch.js";
import { EXIT, isInputError, NotAuthorisedError, ServiceError } from "./errors.js";
import { processOutput, type Output } from "./io.js";

const HELP_FOOTER = `
Files
  MODEL.json        {"name", "inputSize", "layers": [{"units", "activation"}], "loss", "l2", "keepProb"}
                    hidden activations relu | tanh | sigmoid | linear; output softmax or sigmoid with
                    loss "cross-entropy", linear with "mse"; l2 (λ) defaults to 0, keepProb to 1.
  CHECKPOINT        safetensors with W1..WL [n_l, n_l-1], b1..bL, the gradients dW1..dWL, db1..dbL,
                    the probe batch X [m, n_0] and Y [m, n_L]; F64, F32, F16 or BF16; optional
                    "step" in __metadata__.

Cluster
  gradcheck submit sends a check to a coordinator: --server defaults to GRADCHECK_SERVER and
  --key to GRADCHECK_KEY (a submitter key from \`gradcheck keys create\`; the environment keeps
  it out of the process list). With --wait it follows the check and ends as gradcheck check does.

Audits
  gradcheck watch DIR --model MODEL.json checks each checkpoint a training job writes into DIR once
  (by content), when two scans in a row see it unchanged: --first mode for the first, --then for the
  rest. A checkpoint with NaN or Inf is recorded as diverged. Alerts (fail, outlier, regression: a
  tensor's relative difference up --regression-factor times since the run's previous step, diverged)
  go to --webhook as JSON signed with HMAC-SHA256 (X-Gradcheck-Signature over "<timestamp>.<body>").

History
  Every check is recorded (unless --no-save): in PostgreSQL when DATABASE_URL is set, otherwise
  in an embedded database in GRADCHECK_DATA_DIR (default ~/.gradcheck/history).

Exit codes
  0  pass or warn
  1  fail
  2  bad input or usage (a file, flag or request the message names)
  3  service unreachable or failing (coordinator, database), or an internal error
  4  not authorised (the coordinator refused the API key or its role)

Examples
  $ gradcheck demo
  $ gradcheck check checkpoint.safetensors --model model.json
  $ gradcheck check checkpoint.safetensors --model model.json --json > report.json
  $ gradcheck check big.safetensors --model model.json --mode directional --html report.html
  $ gradcheck watch runs/lr-3e-4/checkpoints --model model.json --run lr-3e-4 --every 30s
  $ gradcheck history mnist-mlp --run lr-3e-4
  $ gradcheck show 1f0c9a2b
  $ export GRADCHECK_SERVER=http://coordinator:8080 GRADCHECK_KEY=gck_...
  $ gradcheck submit big.safetensors --model model.json --mode sample --wait`;

export function buildProgram(output: Output, setExitCode: (code: number) => void, config: CliConfig): Command {
  const program = new Command("gradcheck")
    .description("Verify backpropagation: compare a checkpoint's gradient dθ with central differences of the cost.")
    .version(GRADCHECK_VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({
      writeOut: (text) => output.out(text.trimEnd()),
      writeErr: (text) => output.err(text.trimEnd()),
      outputError: (text, write) => write(`gradcheck: ${text}`),
    })
    .exitOverride()
    .addHelpText("after", HELP_FOOTER);

  addRunOptions(
    addBackendOptions(
      addCheckOptions(
        program
          .command("check")
          .description("check a checkpoint's gradients on this machine")
          .argument("<checkpoint>", "safetensors file with θ, dθ, X and Y")
          .requiredOption("-m, --model <file>", "model spec (JSON)"),
      ),
    ),
  )
    .addOption(
      new Option("--threads <n>", "worker threads (default: one per core, fewer for small models)").argParser(
        integerIn("--threads", 1, 256),
      ),
    )
    .option("--json", "print only the JSON report on stdout", false)
    .option("--html <file>", "also write the report as one self-contained HTML file")
    .option("--no-save", "do not record the check in the history")
    .action(async (checkpoint: string, options) => setExitCode(await checkCommand(checkpoint, options, output, config)));

  addRunOptions(
    addCheckOptions(
      program
        .command("submit")
        .description("send a check to a gradcheck coordinator; with --wait, follow it to the report")
        .argument("<checkpoint>", "safetensors file with θ, dθ, X and Y (uploaded)")
        .requiredOption("-m, --model <file>", "model spec (JSON)"),
    ),
  )
    .option("--server <url>", "coordinator URL (default: $GRADCHECK_SERVER)")
    .option("--key <key>", "API key with the submitter role (default: $GRADCHECK_KEY)")
    .option("--wait", "follow the check with a progress bar and print its report", false)
    .option("--json", "print only JSON on stdout: the report with --wait, otherwise the check's state", false)
    .action(async (checkpoint: string, options) => setExitCode(await submitCommand(checkpoint, options, output, config)));

  program
    .command("history")
    .description("list recorded checks, of one model or all, ordered by run and training step")
    .argument("[model]", "model name (as in the spec's \"name\")")
    .addOption(new Option("--run <name>", "only this training run").argParser(runName("--run")))
    .addOption(new Option("--verdict <verdict>", "only checks with this verdict").choices([...VERDICTS]))
    .addOption(new Option("--mode <mode>", "only checks in this mode").choices([...CHECK_MODES]))
    .addOption(new Option("--step-from <n>", "only training steps from this one on").argParser(integerIn("--step-from", 0, MAX_STEP)))
    .addOption(new Option("--step-to <n>", "only training steps up to this one").argParser(integerIn("--step-to", 0, MAX_STEP)))
    .addOption(new Option("--since <time>", "only checks finished at or after this time (ISO 8601, e.g. 2026-12-01 or 2026-12-01T08:00Z)").argParser(isoTime("--since")))
    .option("--json", "print the entries as JSON", false)
    .option("--server <url>", "read a coordinator's history instead of this machine's")
    .option("--key <key>", "API key for --server, any role (default: $GRADCHECK_KEY)")
    .action(async (model: string | undefined, options) => setExitCode(await historyCommand(model, options, output, config)));

  program
    .command("show")
    .description("print a recorded check's report as the check printed it; exit 0 for pass or warn, 1 for fail")
    .argument("<check>", "the check's id; in this machine's history also its first 8 characters or more, as gradcheck history shows them")
    .option("--json", "print the report as JSON", false)
    .option("--server <url>", "read the report from a coordinator (the check's whole id)")
    .option("--key <key>", "API key for --server, any role (default: $GRADCHECK_KEY)")
    .action(async (check: string, options) => setExitCode(await showCommand(check, options, output, config)));

  const keys = program.command("keys").description("API keys for a coordinator that shares this database");
  keys
    .command("create")
    .description("create an API key and print it, alone on stdout, this one time")
    .addOption(new Option("--role <role>", "what the key may do").choices([...API_ROLES]).makeOptionMandatory())
    .option("--name <name>", "who or what the key is for", "unnamed")
    .action(async (options) => setExitCode(await createKeyCommand(options, output, config)));
  keys
    .command("list")
    .description("list every key: id, name, role, prefix, when created and revoked (never the key)")
    .option("--json", "print the keys as JSON", false)
    .action(async (options) => setExitCode(await listKeysCommand(options, output, config)));
  keys
    .command("revoke")
    .description("revoke a key: the coordinator refuses it from its next request on")
    .argument("<key>", "the key's id, its prefix as `keys list` shows it (gck_ and 6 characters), or the key itself")
    .action(async (idOrPrefix: string) => setExitCode(await revokeKeyCommand(idOrPrefix, output, config)));

  addCheckOptions(
    program
      .command("watch")
      .description("audit a folder on this machine: check each new checkpoint once, by a policy, into the history; alert a webhook")
      .argument("<source>", "a folder (every *.safetensors in it) or a quoted glob ('runs/**/*.safetensors')")
      .requiredOption("-m, --model <file>", "model spec (JSON)"),
    { mode: false },
  )
    .option("--name <audit>", "the audit's name in the history (default: watch-<folder name>)")
    .addOption(new Option("--run <name>", "the training run its checks belong to").argParser(runName("--run")).default("default"))
    .addOption(new Option("--every <duration>", "time between scans: 1500ms, 5s, 1m, 1h").argParser(duration("--every")).default(5000, "5s"))
    .addOption(new Option("--first <mode>", "mode of the first checkpoint").choices([...CHECK_MODES]).default("full"))
    .addOption(new Option("--then <mode>", "mode of every later one").choices([...CHECK_MODES]).default("sample"))
    .addOption(new Option("--full-every <n>", "a full check every nth checkpoint too").argParser(integerIn("--full-every", 2, 1_000_000)))
    .option("--webhook <url>", "POST every alert here as JSON, signed with --webhook-secret")
    .addOption(new Option("--webhook-secret <secret>", "HMAC-SHA256 key of the alerts' signatures, 16 characters or more").env("GRADCHECK_WEBHOOK_SECRET"))
    .addOption(new Option("--alert-on <kinds>", `alerts to raise, comma-separated: ${ALERT_KINDS.join(", ")}`).argParser(alertKinds).default([...ALERT_KINDS], "all"))
    .addOption(
      new Option("--regression-factor <x>", "a tensor's relative difference up this many times since the run's previous checkpoint is a regression")
        .argParser(integerIn("--regression-factor", 2, 1_000_000))
        .default(DEFAULT_REGRESSION_FACTOR),
    )
    .option("--once", "scan until every checkpoint in the folder is taken, then exit", false)
    .action(async (source: string, options) => {
      // Ctrl-C ends the watch between checkpoints, its history closed
      const stop = new AbortController();
      const abort = () => stop.abort();
      process.once("SIGINT", abort).once("SIGTERM", abort);
      try {
        setExitCode(await watchCommand(source, options, output, config, stop.signal));
      } finally {
        process.off("SIGINT", abort).off("SIGTERM", abort);
      }
    });

  program
    .command("demo")
    .description("write a correct and a buggy model, check both, and explain the output")
    .option("--out <dir>", "where to write the demo files", DEFAULT_DEMO_DIR)
    .option("--no-save", "do not record the demo's checks in the history")
    .action(async (options) => setExitCode(await demoCommand(options, output, config)));

  return program;
}

function duration(name: string) {
  return (value: string): number => {
    const ms = parseDuration(value);
    if (ms === null || ms < MIN_AUDIT_INTERVAL_MS) throw new InvalidArgumentError(`${name} must be a duration of at least 1s (1500ms, 5s, 1m, 1h), got "${value}".`);
    return ms;
  };
}

function alertKinds(value: string): AlertKind[] {
  const kinds = value.split(",").map((kind) => kind.trim()).filter(Boolean);
  const unknown = kinds.filter((kind) => !(ALERT_KINDS as readonly string[]).includes(kind));
  if (unknown.length || !kinds.length) throw new InvalidArgumentError(`--alert-on takes ${ALERT_KINDS.join(", ")}, comma-separated; got "${value}".`);
  return kinds as AlertKind[];
}

/** Runs the CLI; resolves to the exit code instead of exiting, so tests can call it. */
export async function main(argv: readonly string[], output: Output = processOutput, config: CliConfig = readConfig()): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(output, (code) => (exitCode = code), config);
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return EXIT.badInput;
    }
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    if (isInputError(error)) {
      output.err(`gradcheck: error: ${error.message}`);
      return EXIT.badInput;
    }
    if (error instanceof ServiceError) {
      output.err(`gradcheck: error: ${error.message}`);
      return EXIT.internal;
    }
    if (error instanceof NotAuthorisedError) {
      output.err(`gradcheck: error: ${error.message}`);
      return EXIT.notAuthorised;
    }
    output.err(`gradcheck: internal error: ${error instanceof Error ? error.message : String(error)}`);
    if (config.debug && error instanceof Error && error.stack) output.err(error.stack);
    else output.err("(set GRADCHECK_DEBUG=1 to see where it happened)");
    return EXIT.internal;
  }
}
