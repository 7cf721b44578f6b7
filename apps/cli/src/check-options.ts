import { CHECK_MODES, CHECK_OPTION_LIMITS, DEFAULT_RUN, MAX_STEP, RUN_NAME, type CheckOptionsInput } from "@gradcheck/contracts";
import { BACKEND_REQUESTS, DEFAULT_CHECK_OPTIONS, GPUJS_MODE_REQUESTS, type BackendRequest, type CheckOptions } from "@gradcheck/engine";
import { InvalidArgumentError, Option, type Command } from "commander";

// The options that shape a check, shared by `gradcheck check` (run here) and `gradcheck submit`
// (run on a cluster), so both take the same flags with the limits and defaults of the
// contracts' schema, which the coordinator's API applies too.

/** What the shared options parse to: the engine's check options. */
export type CheckOptionValues = CheckOptions;

export function positiveNumber(name: string, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (value.trim() === "" || !Number.isFinite(parsed) || parsed <= 0 || parsed > max) {
      throw new InvalidArgumentError(`${name} must be a number in (0, ${max}], got "${value}".`);
    }
    return parsed;
  };
}

export function integerIn(name: string, min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value.trim()) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got "${value}".`);
    }
    return parsed;
  };
}

/** Adds --mode (unless a policy sets it), --eps, --richardson, --samples, --directions, --seed and --top to a command. */
export function addCheckOptions(command: Command, { mode = true }: { mode?: boolean } = {}): Command {
  if (mode) {
    command.addOption(
      new Option("--mode <mode>", "full: every coordinate; sample: --samples per tensor; directional: random directions, then localization")
        .choices([...CHECK_MODES])
        .default(DEFAULT_CHECK_OPTIONS.mode),
    );
  }
  return command
    .addOption(new Option("--eps <h>", "fixed finite-difference step h (default: ∛ε·max(1, |θ_i|))").argParser(positiveNumber("--eps", CHECK_OPTION_LIMITS.eps.max)))
    .option("--richardson", "Richardson extrapolation from h and h/2 (twice the cost evaluations)", false)
    .addOption(
      new Option("--samples <n>", "sample mode: coordinates per tensor")
        .argParser(integerIn("--samples", CHECK_OPTION_LIMITS.samples.min, CHECK_OPTION_LIMITS.samples.max))
        .default(DEFAULT_CHECK_OPTIONS.samples),
    )
    .addOption(
      new Option("--directions <k>", "directional mode: random directions per tensor")
        .argParser(integerIn("--directions", CHECK_OPTION_LIMITS.directions.min, CHECK_OPTION_LIMITS.directions.max))
        .default(DEFAULT_CHECK_OPTIONS.directions),
    )
    .addOption(
      new Option("--seed <s>", "seed of the sample and the directions")
        .argParser(integerIn("--seed", CHECK_OPTION_LIMITS.seed.min, CHECK_OPTION_LIMITS.seed.max))
        .default(DEFAULT_CHECK_OPTIONS.seed),
    )
    .addOption(
      new Option("--top <k>", "worst coordinates listed per tensor")
        .argParser(integerIn("--top", CHECK_OPTION_LIMITS.top.min, CHECK_OPTION_LIMITS.top.max))
        .default(DEFAULT_CHECK_OPTIONS.top),
    );
}

/** Just the check options out of a command's parsed options (which also hold --model, --json, ...). */
export function checkOptionsFrom(values: CheckOptionValues): CheckOptionsInput {
  const { mode, eps, richardson, samples, directions, seed, top } = values;
  return eps === undefined ? { mode, richardson, samples, directions, seed, top } : { mode, eps, richardson, samples, directions, seed, top };
}

/** A time as --since takes it: a date or an ISO 8601 time, given back as a full ISO 8601 time in UTC. */
export function isoTime(name: string) {
  return (value: string): string => {
    const time = /^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?$/.test(value.trim()) ? new Date(value.trim()) : new Date(Number.NaN);
    if (Number.isNaN(time.getTime())) throw new InvalidArgumentError(`${name} must be a date or time in ISO 8601 (2026-12-01, 2026-12-01T08:00Z), got "${value}".`);
    return time.toISOString();
  };
}

/** A run name as --run takes it. */
export function runName(name: string) {
  return (value: string): string => {
    if (!RUN_NAME.test(value)) throw new InvalidArgumentError(`${name} must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit, got "${value}".`);
    return value;
  };
}

export interface RunOptionValues {
  readonly run: string;
  /** undefined unless given: the checkpoint's own step */
  readonly step?: number;
}

/** Adds --run and --step: where the check sits in the history, shared by `check` and `submit`. */
export function addRunOptions(command: Command): Command {
  return command
    .addOption(new Option("--run <name>", "the training run the check belongs to: each run of a model is a history of its own").argParser(runName("--run")).default(DEFAULT_RUN))
    .addOption(
      new Option("--step <n>", "the training step (default: the checkpoint's \"step\" metadata)").argParser(integerIn("--step", 0, MAX_STEP)),
    );
}

export interface BackendOptionValues {
  readonly backend: BackendRequest;
  /** undefined unless given: auto */
  readonly gpujsMode?: (typeof GPUJS_MODE_REQUESTS)[number];
}

/** Adds --backend and --gpujs-mode: where a local check computes its perturbed costs. */
export function addBackendOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        "--backend <backend>",
        "cpu: float64 on the CPU; gpujs: a float32 gpu.js screen, every flagged coordinate and a sample of the rest confirmed in float64; auto: gpujs where gpu.js reaches a GPU (headless-gl and a display), else cpu",
      )
        .choices([...BACKEND_REQUESTS])
        .default("cpu"),
    )
    .addOption(
      new Option("--gpujs-mode <mode>", "gpu.js mode for --backend gpujs (default: auto: headlessgl, else webasm, else cpu)").choices([
        ...GPUJS_MODE_REQUESTS,
      ]),
    );
}
