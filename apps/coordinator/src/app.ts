import "reflect-metadata";
import type { INestApplication } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { DocumentBuilder, SwaggerModule } from "@nestjs/swagger";
import { GRADCHECK_VERSION } from "@gradcheck/contracts";
import { ShardResultStore } from "@gradcheck/db";
import { AppModule } from "./app.module.js";
import { CheckpointStorage } from "./checkpoints/checkpoint-storage.js";
import type { CoordinatorConfig } from "./config.js";
import { JsonLogger } from "./common/json-logger.js";
import { openDatabase } from "./database/database.js";

/** The coordinator application, configured but not listening: main.ts and tests start it. */
export async function createApp(config: CoordinatorConfig): Promise<INestApplication> {
  const prisma = await openDatabase(config.databaseUrl);
  await new CheckpointStorage(config.storageDir).clearIncoming();
  const shardResults = new ShardResultStore(config.databaseUrl);
  const app = await NestFactory.create(AppModule.create(config, prisma, shardResults), { logger: new JsonLogger({ debug: config.debug }) });
  app.setGlobalPrefix("api/v1");
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle("gradcheck coordinator")
      .setDescription("Gradient checks of uploaded checkpoints, sharded over workers; history across training checkpoints.")
      .setVersion(GRADCHECK_VERSION)
      // opaque keys, not JWTs (the default format here)
      .addBearerAuth({ type: "http", scheme: "bearer", bearerFormat: "gck_… (an opaque API key)", description: "an API key from `gradcheck keys create --role R`" })
      .build(),
  );
  SwaggerModule.setup("api/docs", app, document, { jsonDocumentUrl: "api/docs/json" });
  const close = app.close.bind(app);
  app.close = async () => {
    await close();
    await shardResults.close();
    await prisma.$disconnect();
  };
  return app;
}
