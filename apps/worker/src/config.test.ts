import { availableParallelism, homedir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, readWorkerConfig, redactedRedisUrl } from "./config.js";

describe("readWorkerConfig", () => {
  it("fills in defaults around the required key", () => {
    expect(readWorkerConfig({ GRADCHECK_KEY: "k" })).toEqual({
      redisUrl: "redis://127.0.0.1:6379",
      queuePrefix: "gradcheck",
      server: "http://127.0.0.1:8080",
      key: "k",
      cacheDir: join(homedir(), ".gradcheck", "worker-cache"),
      concurrency: availableParallelism(),
      debug: false,
      backend: "cpu",
      gpujsMode: "auto",
      metricsPort: null,
    });
  });

  it("takes the backend from the environment, and from flags over it; one processor for gpu.js", () => {
    const env = { GRADCHECK_KEY: "k", GRADCHECK_BACKEND: "auto", GRADCHECK_GPUJS_MODE: "cpu" };
    expect(readWorkerConfig(env)).toMatchObject({ backend: "auto", gpujsMode: "cpu", concurrency: 1 });
    expect(readWorkerConfig(env, ["--backend", "cpu", "--gpujs-mode=webasm"])).toMatchObject({ backend: "cpu", gpujsMode: "webasm", concurrency: availableParallelism() });
    expect(readWorkerConfig({ ...env, GRADCHECK_WORKER_CONCURRENCY: "3" }, ["--backend", "gpujs"])).toMatchObject({ backend: "gpujs", concurrency: 3 });
    expect(() => readWorkerConfig(env, ["--backend", "gpu"])).toThrow('--backend must be one of cpu, gpujs, auto, got "gpu"');
    expect(() => readWorkerConfig({ ...env, GRADCHECK_GPUJS_MODE: "webgl" })).toThrow('GRADCHECK_GPUJS_MODE must be one of auto, headlessgl, webasm, cpu, got "webgl"');
    expect(() => readWorkerConfig(env, ["--backend"])).toThrow(/--backend <value>' argument missing \(see --help\)/);
    expect(() => readWorkerConfig(env, ["extra"])).toThrow(ConfigError);
  });

  it("reads every variable", () => {
    const config = readWorkerConfig({
      GRADCHECK_KEY: "k",
      REDIS_URL: "rediss://user:pw@redis.example:6380/2",
      GRADCHECK_QUEUE_PREFIX: "gc-x",
      GRADCHECK_SERVER: "https://gradcheck.example/base/",
      GRADCHECK_CACHE_DIR: "cache",
      GRADCHECK_WORKER_CONCURRENCY: "3",
      GRADCHECK_DEBUG: "1",
      GRADCHECK_METRICS_PORT: "9464",
    });
    expect(config).toMatchObject({
      metricsPort: 9464,
      redisUrl: "rediss://user:pw@redis.example:6380/2",
      queuePrefix: "gc-x",
      server: "https://gradcheck.example/base",
      concurrency: 3,
      debug: true,
    });
    expect(config.cacheDir).toBe(join(process.cwd(), "cache"));
  });

  it("refuses a missing key and bad values with the variable's name", () => {
    expect(() => readWorkerConfig({})).toThrow(/GRADCHECK_KEY is not set/);
    const bad = (env: Record<string, string>) => () => readWorkerConfig({ GRADCHECK_KEY: "k", ...env });
    for (const value of ["0", "-1", "1.5", "two"]) {
      expect(bad({ GRADCHECK_WORKER_CONCURRENCY: value })).toThrow(`GRADCHECK_WORKER_CONCURRENCY must be a positive whole number, got "${value}"`);
    }
    expect(bad({ REDIS_URL: "localhost:6379" })).toThrow(/REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(bad({ GRADCHECK_SERVER: "not a url" })).toThrow(/GRADCHECK_SERVER must be a URL/);
    expect(bad({ GRADCHECK_SERVER: "ftp://x" })).toThrow(ConfigError);
    expect(bad({ GRADCHECK_METRICS_PORT: "70000" })).toThrow('GRADCHECK_METRICS_PORT must be a port from 1 to 65535, got "70000"');
    expect(bad({ GRADCHECK_METRICS_PORT: "http" })).toThrow("GRADCHECK_METRICS_PORT must be a positive whole number");
  });
});

describe("redactedRedisUrl", () => {
  it("drops the password only", () => {
    expect(redactedRedisUrl("redis://user:secret@host:6379/1")).toBe("redis://user@host:6379/1");
    expect(redactedRedisUrl("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
  });
});
