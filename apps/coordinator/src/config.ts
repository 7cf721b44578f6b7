import { homedir } from "node:os";
import { join } from "node:path";

/** The coordinator's view of its environment; the only module that reads process.env. */
export interface CoordinatorConfig {
  readonly port: number;
  readonly host: string;
  /** PostgreSQL; the database is created if missing and migrated at boot */
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** BullMQ key prefix: coordinator and workers of one cluster share it */
  readonly queuePrefix: string;
  /** uploaded checkpoints, named by their SHA-256 */
  readonly storageDir: string;
  readonly maxUploadBytes: number;
  /** how often open checks are compared with the queue (queue/check-status-keeper.ts); 0: never */
  readonly statusSweepMs: number;
  readonly debug: boolean;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const DEFAULT_MAX_UPLOAD_BYTES = 4 * 1024 ** 3;

export function readConfig(env: NodeJS.ProcessEnv = process.env): CoordinatorConfig {
  return {
    port: integerFrom(env, "PORT", 8080, 0, 65_535),
    host: env.HOST || "0.0.0.0",
    databaseUrl: env.DATABASE_URL || "postgresql://postgres@127.0.0.1:5432/gradcheck",
    redisUrl: env.REDIS_URL || "redis://127.0.0.1:6379",
    queuePrefix: env.GRADCHECK_QUEUE_PREFIX || "gradcheck",
    storageDir: env.GRADCHECK_STORAGE_DIR || join(homedir(), ".gradcheck", "coordinator"),
    maxUploadBytes: integerFrom(env, "GRADCHECK_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES, 1, Number.MAX_SAFE_INTEGER),
    statusSweepMs: integerFrom(env, "GRADCHECK_STATUS_SWEEP_MS", 2_000, 0, 3_600_000),
    debug: env.GRADCHECK_DEBUG === "1",
  };
}

function integerFrom(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}
