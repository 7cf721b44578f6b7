import { Body, Controller, Get, HttpCode, Inject, Param, Post, Req, Res } from "@nestjs/common";
import { ApiBearerAuth, ApiBody, ApiOperation, ApiProduces, ApiResponse, ApiTags } from "@nestjs/swagger";
import { checkStateSchema, submitCheckSchema, type SubmitCheck } from "@gradcheck/contracts";
import type { Request, Response } from "express";
import { z } from "zod";
import { RequiresRole } from "../auth/roles.js";
import { ZodBodyPipe } from "../common/zod-body.pipe.js";
import { CheckService } from "./check.service.js";
import { CheckEvents } from "./check-events.js";

const stateDoc = { schema: z.toJSONSchema(checkStateSchema, { io: "output", unrepresentable: "any" }) as object };

@ApiTags("checks")
@ApiBearerAuth()
@Controller("checks")
export class CheckController {
  constructor(
    @Inject(CheckService) private readonly checks: CheckService,
    @Inject(CheckEvents) private readonly events: CheckEvents,
  ) {}

  @Post()
  @RequiresRole("submitter")
  @HttpCode(202)
  @ApiOperation({ summary: "Start a check of an uploaded checkpoint: 202 with its id; 200 with the existing check for the same checkpoint and options" })
  @ApiBody({ schema: z.toJSONSchema(submitCheckSchema, { io: "input", unrepresentable: "any" }) as object })
  @ApiResponse({ status: 202, description: "queued", ...stateDoc })
  @ApiResponse({ status: 503, description: "the job queue is unreachable; nothing was created" })
  async submit(@Body(new ZodBodyPipe(submitCheckSchema)) body: SubmitCheck, @Res({ passthrough: true }) response: Response) {
    const { state, created } = await this.checks.submit(body);
    if (!created) response.status(200);
    response.setHeader("Location", `/api/v1/checks/${state.id}`);
    return state;
  }

  @Get(":id")
  @ApiOperation({ summary: "A check's status and progress (shards, coordinates per second, ETA), and its report when done" })
  @ApiResponse({ status: 200, ...stateDoc })
  state(@Param("id") id: string) {
    return this.checks.state(id);
  }

  @Get(":id/events")
  @ApiOperation({ summary: "Server-Sent Events: `progress` events with the check's state, then one `end` event when it finishes" })
  @ApiProduces("text/event-stream")
  async stream(@Param("id") id: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    await this.events.stream(id, request, response);
  }

  @Post(":id/cancel")
  @RequiresRole("submitter")
  @HttpCode(200)
  @ApiOperation({ summary: "Cancel a queued or running check; 409 when it has finished" })
  cancel(@Param("id") id: string) {
    return this.checks.cancel(id);
  }
}
