import { Controller, Get, Inject, ServiceUnavailableException } from "@nestjs/common";
import { ApiOperation, ApiTags } from "@nestjs/swagger";
import { healthSchema } from "@gradcheck/contracts";
import { databaseAnswers, type PrismaClient } from "@gradcheck/db";
import { Public } from "../auth/roles.js";
import { ApiAnswer, ApiErrors } from "../common/api-docs.js";
import { QueueService } from "../queue/queue.service.js";
import { PRISMA } from "../tokens.js";

@ApiTags("health")
@Public()
@Controller("health")
export class HealthController {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(QueueService) private readonly queue: QueueService,
  ) {}

  @Get()
  @ApiOperation({ summary: "Liveness: the process answers" })
  @ApiAnswer(healthSchema)
  @ApiErrors(500)
  live() {
    return { status: "ok" };
  }

  @Get("ready")
  @ApiOperation({ summary: "Readiness: PostgreSQL and Redis both answer (503 otherwise)" })
  @ApiAnswer(healthSchema)
  @ApiErrors(500, 503)
  async ready() {
    const [database, queue] = await Promise.all([
      databaseAnswers(this.prisma),
      this.queue.ping(),
    ]);
    const checks = { database: database ? "ok" : "unreachable", queue: queue ? "ok" : "unreachable" };
    if (!database || !queue) {
      throw new ServiceUnavailableException(`not ready: database ${checks.database}, queue ${checks.queue}`);
    }
    return { status: "ok", ...checks };
  }
}
