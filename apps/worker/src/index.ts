export { ConfigError, readWorkerConfig, redactedRedisUrl, type WorkerConfig } from "./config.js";
export { startWorker, type RunningWorker, type ShardWorker } from "./worker.js";
export { cachedCheckpoint, CheckpointFetchError, type CheckpointSource } from "./checkpoint-cache.js";
export { CoordinatorRequestError } from "./coordinator-http.js";
