import { Controller, Get, Inject, Res } from "@nestjs/common";
import { ApiOperation, ApiResponse, ApiTags } from "@nestjs/swagger";
import type { Response } from "express";
import { Public } from "../auth/roles.js";
import { ApiErrors } from "../common/api-docs.js";
import { MetricsService } from "./metrics.service.js";

@ApiTags("health")
@Public()
@Controller("metrics")
export class MetricsController {
  constructor(@Inject(MetricsService) private readonly metrics: MetricsService) {}

  @Get()
  @ApiOperation({ summary: "Prometheus metrics: checks by status, queue jobs by state, shard durations, the process's own (open like health: counts only, no data)" })
  @ApiResponse({ status: 200, description: "the Prometheus text format", content: { "text/plain": { schema: { type: "string" } } } })
  @ApiErrors(500)
  async scrape(@Res() response: Response): Promise<void> {
    const text = await this.metrics.registry.metrics();
    response.setHeader("Content-Type", this.metrics.registry.contentType);
    response.send(text);
  }
}
