import { Logger } from "@nestjs/common";
import { createApp } from "./app.js";
import { ConfigError, readConfig } from "./config.js";
import { redactedUrl } from "./queue/redis.js";

// `node dist/main.js`: the coordinator on PORT (default 8080).
try {
  const config = readConfig();
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  new Logger("Coordinator").log(
    `gradcheck coordinator ${process.pid}: listening on http://${config.host}:${config.port}/api/v1 (docs at /api/docs, metrics at /api/v1/metrics), ` +
      `queue ${config.queuePrefix} at ${redactedUrl(config.redisUrl)}`,
  );
} catch (error) {
  console.error(`gradcheck coordinator: ${error instanceof ConfigError ? "configuration error" : "cannot start"}: ${(error as Error).message}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
