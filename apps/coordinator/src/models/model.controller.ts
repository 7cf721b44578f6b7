import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from "@nestjs/common";
import { CHECK_MODES, historyQuerySchema, historySchema, modelListingSchema, modelViewSchema, VERDICTS, type HistoryQuery } from "@gradcheck/contracts";
import { ApiAnswer, ApiErrors } from "../common/api-docs.js";
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiTags } from "@nestjs/swagger";
import { ZodBodyPipe } from "../common/zod-body.pipe.js";
import type { Request, Response } from "express";
import { RequiresRole } from "../auth/roles.js";
import { HistoryService } from "./history.service.js";
import { ModelService } from "./model.service.js";

@ApiTags("models")
@ApiBearerAuth()
@ApiErrors(401, 403, 500)
@Controller("models")
export class ModelController {
  constructor(
    @Inject(ModelService) private readonly models: ModelService,
    @Inject(HistoryService) private readonly histories: HistoryService,
  ) {}

  @Post()
  @RequiresRole("submitter")
  @HttpCode(200)
  @ApiOperation({ summary: "Register a model spec: 201 with its version (a new model, or a changed spec under the name: the next version); 200 with the version of the same spec registered before" })
  @ApiBody({ schema: { type: "object", description: "a model spec, version 1 (name, inputSize, layers, loss, l2, keepProb) or version 2 (name, input, layers, loss, l2)" } })
  @ApiAnswer(modelViewSchema, 201, "registered")
  @ApiAnswer(modelViewSchema, 200, "the same spec was registered before")
  @ApiErrors(400)
  async register(@Body() body: unknown, @Res({ passthrough: true }) response: Response) {
    const { model, created } = await this.models.register(body);
    if (created) response.status(201);
    return model;
  }

  @Get()
  @ApiOperation({ summary: "List models with their numbers of checkpoints and checks" })
  @ApiAnswer(modelListingSchema)
  list() {
    return this.models.list();
  }

  @Get(":name")
  @ApiOperation({ summary: "Show a model's spec" })
  @ApiAnswer(modelViewSchema)
  @ApiErrors(404)
  show(@Param("name") name: string) {
    return this.models.show(name);
  }

  @Get(":name/history")
  @ApiOperation({ summary: "A model's finished checks across checkpoints, ordered by run and training step, with per-tensor figures" })
  @ApiQuery({ name: "run", required: false, description: "only this training run" })
  @ApiQuery({ name: "verdict", required: false, enum: [...VERDICTS] })
  @ApiQuery({ name: "mode", required: false, enum: [...CHECK_MODES] })
  @ApiQuery({ name: "stepFrom", required: false, description: "training steps from this one on" })
  @ApiQuery({ name: "stepTo", required: false, description: "training steps up to this one" })
  @ApiQuery({ name: "since", required: false, description: "finished at or after this time (ISO 8601)" })
  @ApiQuery({ name: "limit", required: false, description: "a page of at most this many (1 to 500); all when absent" })
  @ApiQuery({ name: "cursor", required: false, description: "the next page's cursor, from the Link header of the page before" })
  @ApiAnswer(historySchema, 200, 'the entries; with `limit`, a header `Link: <…&cursor=…>; rel="next"` while more follow')
  @ApiErrors(400, 404)
  async history(@Param("name") name: string, @Query(new ZodBodyPipe(historyQuerySchema, "query")) query: HistoryQuery, @Req() request: Request, @Res({ passthrough: true }) response: Response) {
    const { entries, nextCursor } = await this.histories.history(name, query);
    if (nextCursor !== null) {
      // the same query, the next page: its address as RFC 8288 prescribes
      const next = new URL(request.originalUrl, "http://host");
      next.searchParams.set("cursor", nextCursor);
      response.setHeader("Link", `<${next.pathname}${next.search}>; rel="next"`);
    }
    return entries;
  }
}
