import { Body, Controller, Get, HttpCode, Inject, Param, Post, Put, Query, Req, Res } from "@nestjs/common";
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiQuery, ApiResponse, ApiTags } from "@nestjs/swagger";
import { checkListQuerySchema, checkListSchema, checkStateSchema, shardResultsAnswerSchema, submitCheckSchema, type CheckListQuery, type SubmitCheck } from "@gradcheck/contracts";
import { CheckListRepository } from "@gradcheck/db";
import type { Request, Response } from "express";
import { RequiresRole } from "../auth/roles.js";
import { ApiAnswer, ApiErrors, schemaOf } from "../common/api-docs.js";
import { ZodBodyPipe } from "../common/zod-body.pipe.js";
import { CheckService } from "./check.service.js";
import { CheckEvents } from "./check-events.js";
import { ShardResultsService } from "./shard-results.service.js";

@ApiTags("checks")
@ApiBearerAuth()
@ApiErrors(401, 403, 500)
@Controller("checks")
export class CheckController {
  constructor(
    @Inject(CheckService) private readonly checks: CheckService,
    @Inject(CheckEvents) private readonly events: CheckEvents,
    @Inject(ShardResultsService) private readonly shardResults: ShardResultsService,
    @Inject(CheckListRepository) private readonly listing: CheckListRepository,
  ) {}

  @Get()
  @ApiOperation({
    summary: "List checks of every state, newest first, filtered, a page at a time",
    description: "Pass a page's `nextCursor` as `cursor` for the next page; it is null on the last. Filters combine: model, run, status, verdict, mode, stepFrom, stepTo, since (ISO 8601).",
  })
  @ApiAnswer(checkListSchema)
  @ApiErrors(400)
  list(@Query(new ZodBodyPipe(checkListQuerySchema, "query")) query: CheckListQuery) {
    return this.listing.list(query);
  }

  @Post()
  @RequiresRole("submitter")
  @HttpCode(202)
  @ApiOperation({ summary: "Start a check of an uploaded checkpoint: 202 with its id; 200 with the existing check for the same checkpoint and options" })
  @ApiBody({ schema: schemaOf(submitCheckSchema, "input") })
  @ApiAnswer(checkStateSchema, 202, "queued")
  @ApiAnswer(checkStateSchema, 200, "the same checkpoint, options, run and step were submitted before: that check")
  @ApiErrors(400, 404, 409, 503)
  async submit(@Body(new ZodBodyPipe(submitCheckSchema)) body: SubmitCheck, @Res({ passthrough: true }) response: Response) {
    const { state, created } = await this.checks.submit(body);
    if (!created) response.status(200);
    response.setHeader("Location", `/api/v1/checks/${state.id}`);
    return state;
  }

  @Get(":id")
  @ApiOperation({ summary: "A check's status and progress (shards, coordinates per second, ETA), and its report when done" })
  @ApiAnswer(checkStateSchema)
  @ApiErrors(404)
  state(@Param("id") id: string) {
    return this.checks.state(id);
  }

  @Get(":id/events")
  @ApiOperation({ summary: "Server-Sent Events: `progress` events with the check's state, then one `end` event when it finishes" })
  @ApiResponse({ status: 200, description: "`event: progress` and `event: end`, each with `data:` a check's state as GET /checks/:id answers it", content: { "text/event-stream": { schema: { type: "string" } } } })
  @ApiErrors(404)
  async stream(@Param("id") id: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    await this.events.stream(id, request, response);
  }

  @Put(":id/shards/:index/results")
  @RequiresRole("worker")
  @HttpCode(200)
  @ApiOperation({
    summary: "Workers hand in a shard's results here before they finish its job; stored once per shard (stored: false when already stored)",
    description:
      "The body is 9 bytes per item: every item's float64 numerical derivative (little-endian), then every item's status byte. 409 when the check has finished or was cancelled.",
  })
  @ApiConsumes("application/octet-stream")
  @ApiBody({ schema: { type: "string", format: "binary" } })
  @ApiQuery({ name: "start", description: "the shard's first item" })
  @ApiQuery({ name: "end", description: "one past the shard's last item" })
  @ApiAnswer(shardResultsAnswerSchema)
  @ApiErrors(400, 404, 409, 413, 415)
  handIn(@Param("id") id: string, @Param("index") index: string, @Query("start") start: string | undefined, @Query("end") end: string | undefined, @Req() request: Request) {
    return this.shardResults.receive({
      checkId: id,
      index,
      start,
      end,
      contentType: request.headers["content-type"],
      contentLength: request.headers["content-length"],
      body: request,
    });
  }

  @Post(":id/cancel")
  @RequiresRole("submitter")
  @HttpCode(200)
  @ApiOperation({ summary: "Cancel a queued or running check; 409 when it has finished" })
  @ApiAnswer(checkStateSchema)
  @ApiErrors(404, 409)
  cancel(@Param("id") id: string) {
    return this.checks.cancel(id);
  }
}
