import { Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from "@nestjs/common";
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiQuery, ApiResponse, ApiTags } from "@nestjs/swagger";
import { checkpointInfoSchema, checkpointListSchema } from "@gradcheck/contracts";
import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import type { Request, Response } from "express";
import { RequiresRole } from "../auth/roles.js";
import { ApiAnswer, ApiErrors } from "../common/api-docs.js";
import { CheckpointService } from "./checkpoint.service.js";

@ApiTags("checkpoints")
@ApiBearerAuth()
@ApiErrors(401, 403, 500)
@Controller()
export class CheckpointController {
  constructor(@Inject(CheckpointService) private readonly checkpoints: CheckpointService) {}

  @Post("models/:name/checkpoints")
  @RequiresRole("submitter")
  @HttpCode(200)
  @ApiOperation({
    summary: "Upload a safetensors checkpoint of a model (201; 200 when the same bytes are stored already)",
    description: "The body is the file itself, streamed; 4xx when it is not safetensors, does not fit the model, or holds NaN/Inf.",
  })
  @ApiConsumes("application/octet-stream")
  @ApiBody({ schema: { type: "string", format: "binary" } })
  @ApiQuery({ name: "step", required: false, description: "training step, when the file's __metadata__ has none" })
  @ApiAnswer(checkpointInfoSchema, 201, "stored")
  @ApiAnswer(checkpointInfoSchema, 200, "the same bytes were stored before")
  @ApiErrors(400, 404, 413, 415, 422)
  async upload(@Param("name") name: string, @Query("step") step: string | undefined, @Req() request: Request, @Res({ passthrough: true }) response: Response) {
    const { info, created } = await this.checkpoints.upload(name, request, {
      contentType: request.headers["content-type"],
      contentLength: request.headers["content-length"],
      step,
    });
    if (created) response.status(201);
    return info;
  }

  @Get("models/:name/checkpoints")
  @ApiOperation({ summary: "A model's checkpoints, by training step" })
  @ApiAnswer(checkpointListSchema)
  @ApiErrors(404)
  list(@Param("name") name: string) {
    return this.checkpoints.list(name);
  }

  @Get("models/:name/checkpoints/:hash")
  @ApiOperation({ summary: "One checkpoint of a model, by SHA-256; 404 when it was not uploaded (so a client can skip re-uploading)" })
  @ApiAnswer(checkpointInfoSchema)
  @ApiErrors(404)
  find(@Param("name") name: string, @Param("hash") hash: string) {
    return this.checkpoints.find(name, hash);
  }

  @Get("checkpoints/:hash/content")
  @ApiOperation({ summary: "Download a checkpoint by its SHA-256 (workers do)" })
  @ApiResponse({ status: 200, description: "the safetensors file", content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } })
  @ApiErrors(404)
  async content(@Param("hash") hash: string, @Res() response: Response): Promise<void> {
    const { path, sizeBytes } = await this.checkpoints.fileOf(hash);
    response.setHeader("Content-Type", "application/octet-stream");
    response.setHeader("Content-Length", String(sizeBytes));
    // pipeline closes the file when the client goes away mid-download.
    await pipeline(createReadStream(path), response).catch(() => response.destroy());
  }
}
