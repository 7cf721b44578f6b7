import { availableParallelism, homedir } from "node:os";
import { join, resolve } from "node:path";

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
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function readWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const key = env.GRADCHECK_KEY?.trim();
  if (!key) {
    throw new ConfigError(
      "GRADCHECK_KEY is not set: the worker downloads checkpoints from the coordinator and needs an API key (create one with `gradcheck keys create`)",
    );
  }
  return {
    redisUrl: urlFrom(env, "REDIS_URL", "redis://127.0.0.1:6379", ["redis:", "rediss:"]),
    queuePrefix: env.GRADCHECK_QUEUE_PREFIX || "gradcheck",
    server: urlFrom(env, "GRADCHECK_SERVER", "http://127.0.0.1:8080", ["http:", "https:"]).replace(/\/+$/, ""),
    key,
    cacheDir: resolve(env.GRADCHECK_CACHE_DIR || join(homedir(), ".gradcheck", "worker-cache")),
    concurrency: positiveIntegerFrom(env, "GRADCHECK_WORKER_CONCURRENCY", availableParallelism()),
    debug: env.GRADCHECK_DEBUG === "1",
  };
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

function positiveIntegerFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`${name} must be a positive whole number, got "${raw}"`);
  }
  return value;
}
