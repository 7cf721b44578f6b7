import { BadRequestException, Inject, Injectable, NotFoundException, PayloadTooLargeException, UnprocessableEntityException } from "@nestjs/common";
import { CheckpointRepository, type CheckpointRow } from "@gradcheck/db";
import { SHA256_HEX, type CheckpointInfo } from "@gradcheck/contracts";
import { loadCheckInputOf } from "@gradcheck/engine";
import type { Readable } from "node:stream";
import { CONFIG } from "../tokens.js";
import type { CoordinatorConfig } from "../config.js";
import { ModelService } from "../models/model.service.js";
import { CheckpointStorage, UploadTooLargeError } from "./checkpoint-storage.js";

export const checkpointInfo = (model: string, row: CheckpointRow): CheckpointInfo => ({
  model,
  hash: row.contentHash,
  step: row.step,
  dtype: row.dtype,
  sizeBytes: Number(row.sizeBytes),
  createdAt: row.createdAt.toISOString(),
});

/** What the uploader says of the body before it is read. */
export interface UploadHeaders {
  readonly contentType?: string;
  readonly contentLength?: string;
  /** the ?step= query parameter */
  readonly step?: string;
}

@Injectable()
export class CheckpointService {
  constructor(
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
    @Inject(CheckpointStorage) private readonly storage: CheckpointStorage,
    @Inject(CheckpointRepository) private readonly checkpoints: CheckpointRepository,
    @Inject(ModelService) private readonly models: ModelService,
  ) {}

  /**
   * Receives a safetensors upload for a model: streamed to disk and hashed, validated against
   * the spec (names, shapes, dtypes, finite values), and kept once per hash. Bad uploads leave
   * nothing behind.
   */
  async upload(modelName: string, body: Readable, headers: UploadHeaders): Promise<{ info: CheckpointInfo; created: boolean }> {
    const { row: model, spec } = await this.models.spec(modelName);
    if (!headers.contentType?.startsWith("application/octet-stream")) {
      body.resume();
      throw new BadRequestException(`send the safetensors bytes as the body with Content-Type: application/octet-stream (got ${headers.contentType ?? "none"})`);
    }
    const declared = headers.contentLength === undefined ? undefined : Number(headers.contentLength);
    if (declared !== undefined && declared > this.config.maxUploadBytes) {
      body.resume();
      throw new PayloadTooLargeException(`the upload (${declared} bytes) is larger than the limit of ${this.config.maxUploadBytes} bytes`);
    }
    const queryStep = parseStep(headers.step);
    const file = await this.storage.receive(body, this.config.maxUploadBytes).catch((error: unknown) => {
      if (error instanceof UploadTooLargeError) throw new PayloadTooLargeException(error.message);
      throw new BadRequestException(`the upload was interrupted (${(error as Error).message})`);
    });
    try {
      if (file.sizeBytes === 0) throw new BadRequestException("the upload is empty; send the safetensors file as the body");
      const existing = await this.checkpoints.find(model.id, file.hash);
      if (existing && (await this.storage.has(file.hash))) {
        await this.storage.discard(file);
        return { info: checkpointInfo(modelName, existing), created: false };
      }
      const input = await loadCheckInputOf(file.path, spec, "the uploaded checkpoint");
      if (queryStep !== null && input.step !== null && queryStep !== input.step) {
        throw new UnprocessableEntityException(`?step=${queryStep} contradicts the checkpoint's __metadata__.step ${input.step}`);
      }
      await this.storage.accept(file);
      const { row, created } = await this.checkpoints.create({
        modelId: model.id,
        contentHash: file.hash,
        step: input.step ?? queryStep,
        dtype: input.precision,
        sizeBytes: file.sizeBytes,
      });
      return { info: checkpointInfo(modelName, row), created };
    } finally {
      await this.storage.discard(file);
    }
  }

  async list(modelName: string): Promise<CheckpointInfo[]> {
    const { row: model } = await this.models.spec(modelName);
    return (await this.checkpoints.list(model.id)).map((row) => checkpointInfo(modelName, row));
  }

  async find(modelName: string, hash: string): Promise<CheckpointInfo> {
    const { row: model } = await this.models.spec(modelName);
    const row = SHA256_HEX.test(hash) ? await this.checkpoints.find(model.id, hash) : null;
    if (!row || !(await this.storage.has(hash))) throw new NotFoundException(`model "${modelName}" has no checkpoint with SHA-256 ${hash}`);
    return checkpointInfo(modelName, row);
  }

  /** The stored file of a hash, for workers to download. */
  async fileOf(hash: string): Promise<{ path: string; sizeBytes: number }> {
    const row = SHA256_HEX.test(hash) ? await this.checkpoints.findByHash(hash) : null;
    if (!row || !(await this.storage.has(hash))) throw new NotFoundException(`no checkpoint with SHA-256 ${hash}`);
    return { path: this.storage.pathOf(hash), sizeBytes: Number(row.sizeBytes) };
  }
}

function parseStep(value: string | undefined): number | null {
  if (value === undefined || value === "") return null;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new BadRequestException(`?step must be a non-negative whole number, got "${value}"`);
  }
  return Number(value);
}
