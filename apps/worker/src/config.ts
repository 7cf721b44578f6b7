import { availableParallelism, homedir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BACKEND_REQUESTS, GPUJS_MODE_REQUESTS, type BackendRequest } from "@gradcheck/engine";

type GpuJsModeRequest = (typeof GPUJS_MODE_REQUESTS)[number];

export const WORKER_USAGE = `Usage: gradcheck-worker [--backend cpu|gpujs|auto] [--gpujs-mode auto|headlessgl|webasm|cpu]

Computes shards of checks from the coordinator's queue. Settings come from the environment
(GRADCHECK_KEY, REDIS_URL, GRADCHECK_SERVER, ...: see apps/worker/README.md); these flags
override GRADCHECK_BACKEND and GRADCHECK_GPUJS_MODE.

  --backend      cpu: float64 on the CPU (default); gpujs: a float32 gpu.js screen, confirmed
                 in float64 on the CPU; auto: gpujs where headless-gl reaches a GPU, else cpu
  --gpujs-mode   gpu.js mode for the gpujs backend (default auto: headlessgl, else webasm, else cpu)
  -h, --help     show this help`;

/** The worker's view of its environment; the only module that reads process.env. */
export interface WorkerConfig {
  readonly redisUrl: string;
  /** BullMQ key prefix: the coordinator and its workers must share it */
  readonly queuePrefix: string;
  /** the coordinator's base URL, without a trailing slash */
  readonly server: string;
  /** API key sent to the coordinator as `Authorization: Bearer <key>` */
  readonly key: string;
  /** downloaded checkpoints, named by their SHA-256 */
  readonly cacheDir: string;
  /** shards computed at once, each in its own worker thread */
  readonly concurrency: number;
  readonly debug: boolean;
  /** where shards are computed: see WORKER_USAGE */
  readonly backend: BackendRequest;
  readonly gpujsMode: GpuJsModeRequest;
  /** where GET /metrics (Prometheus) is served; null: not served */
  readonly metricsPort: number | null;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The worker's settings from its environment and command line (flags win). */
export function readWorkerConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = []): WorkerConfig {
  const flags = parseFlags(argv);
  const backend = choiceFrom("--backend", flags.backend, choiceFrom("GRADCHECK_BACKEND", env.GRADCHECK_BACKEND || undefined, "cpu", BACKEND_REQUESTS), BACKEND_REQUESTS);
  const gpujsMode = choiceFrom(
    "--gpujs-mode",
    flags["gpujs-mode"],
    choiceFrom("GRADCHECK_GPUJS_MODE", env.GRADCHECK_GPUJS_MODE || undefined, "auto", GPUJS_MODE_REQUESTS),
    GPUJS_MODE_REQUESTS,
  );
  const key = env.GRADCHECK_KEY?.trim();
  if (!key) {
    throw new ConfigError(
      "GRADCHECK_KEY is not set: the worker downloads checkpoints from the coordinator and hands its results in there, with an API key of role worker (create one with `gradcheck keys create --role worker`)",
    );
  }
  return {
    redisUrl: urlFrom(env, "REDIS_URL", "redis://127.0.0.1:6379", ["redis:", "rediss:"]),
    queuePrefix: env.GRADCHECK_QUEUE_PREFIX || "gradcheck",
    server: urlFrom(env, "GRADCHECK_SERVER", "http://127.0.0.1:8080", ["http:", "https:"]).replace(/\/+$/, ""),
    key,
    cacheDir: resolve(env.GRADCHECK_CACHE_DIR || join(homedir(), ".gradcheck", "worker-cache")),
    // One gpu.js context per processor thread: a GPU is best shared by few.
    concurrency: positiveIntegerFrom(env, "GRADCHECK_WORKER_CONCURRENCY", backend === "cpu" ? availableParallelism() : 1),
    debug: env.GRADCHECK_DEBUG === "1",
    backend,
    gpujsMode,
    metricsPort: env.GRADCHECK_METRICS_PORT ? portFrom(env, "GRADCHECK_METRICS_PORT") : null,
  };
}

/** Whether the command line asks for the usage (answered before any setting is read). */
export const wantsHelp = (argv: readonly string[]): boolean => argv.includes("--help") || argv.includes("-h");

function parseFlags(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      options: { backend: { type: "string" }, "gpujs-mode": { type: "string" } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new ConfigError(`${(error as Error).message.split("\n")[0]} (see --help)`);
  }
}

function choiceFrom<T extends string>(name: string, raw: string | undefined, fallback: T, choices: readonly T[]): T {
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be one of ${choices.join(", ")}, got "${raw}"`);
  return raw as T;
}

/** A Redis URL fit for logs: the password removed. */
export function redactedRedisUrl(redisUrl: string): string {
  const url = new URL(redisUrl);
  url.password = "";
  return url.href;
}

function urlFrom(env: NodeJS.ProcessEnv, name: string, fallback: string, protocols: readonly string[]): string {
  const raw = env[name] || fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL such as ${fallback}, got "${raw}"`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must be a ${protocols.map((p) => p.replace(":", "://")).join(" or ")} URL, got "${raw}"`);
  }
  return raw;
}

function portFrom(env: NodeJS.ProcessEnv, name: string): number {
  const value = positiveIntegerFrom(env, name, 0);
  if (value > 65_535) throw new ConfigError(`${name} must be a port from 1 to 65535, got "${env[name]}"`);
  return value;
}

function positiveIntegerFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`${name} must be a positive whole number, got "${raw}"`);
  }
  return value;
}
