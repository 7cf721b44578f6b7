import { Module, type DynamicModule } from "@nestjs/common";
import { APP_FILTER, APP_GUARD } from "@nestjs/core";
import { ApiKeyRepository, CheckListRepository, CheckpointRepository, CheckRepository, HistoryRepository, ModelRepository, ShardResultStore, type PrismaClient } from "@gradcheck/db";
import { ApiKeyGuard } from "./auth/api-key.guard.js";
import { CheckpointController } from "./checkpoints/checkpoint.controller.js";
import { CheckpointService } from "./checkpoints/checkpoint.service.js";
import { CheckpointStorage } from "./checkpoints/checkpoint-storage.js";
import { CheckController } from "./checks/check.controller.js";
import { CheckEvents } from "./checks/check-events.js";
import { CheckService } from "./checks/check.service.js";
import { ShardResultsService } from "./checks/shard-results.service.js";
import { ApiErrorFilter } from "./common/api-error.filter.js";
import type { CoordinatorConfig } from "./config.js";
import { HealthController } from "./health/health.controller.js";
import { HistoryService } from "./models/history.service.js";
import { ModelController } from "./models/model.controller.js";
import { ModelService } from "./models/model.service.js";
import { AggregationWorker } from "./queue/aggregation.worker.js";
import { PlanningThread } from "./checks/planning-thread.js";
import { CheckNotifier } from "./queue/check-notifier.js";
import { CheckStatusKeeper } from "./queue/check-status-keeper.js";
import { MetricsController } from "./metrics/metrics.controller.js";
import { MetricsService } from "./metrics/metrics.service.js";
import { QueueService } from "./queue/queue.service.js";
import { CONFIG, PRISMA } from "./tokens.js";

@Module({})
export class AppModule {
  /** The whole coordinator, given its configuration and an open database. */
  static create(config: CoordinatorConfig, prisma: PrismaClient, shardResults: ShardResultStore): DynamicModule {
    return {
      module: AppModule,
      controllers: [HealthController, ModelController, CheckpointController, CheckController, MetricsController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: PRISMA, useValue: prisma },
        { provide: ApiKeyRepository, useValue: new ApiKeyRepository(prisma) },
        { provide: HistoryRepository, useValue: new HistoryRepository(prisma) },
        { provide: CheckListRepository, useValue: new CheckListRepository(prisma) },
        { provide: ShardResultStore, useValue: shardResults },
        { provide: CheckpointStorage, useValue: new CheckpointStorage(config.storageDir) },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: ApiErrorFilter },
        { provide: ModelRepository, useValue: new ModelRepository(prisma) },
        ModelService,
        HistoryService,
        { provide: CheckpointRepository, useValue: new CheckpointRepository(prisma) },
        CheckpointService,
        { provide: CheckRepository, useValue: new CheckRepository(prisma) },
        CheckService,
        ShardResultsService,
        PlanningThread,
        CheckEvents,
        QueueService,
        AggregationWorker,
        CheckNotifier,
        CheckStatusKeeper,
        MetricsService,
      ],
    };
  }
}
