import { Inject, Injectable } from "@nestjs/common";
import type { HistoryQuery } from "@gradcheck/contracts";
import { HistoryRepository } from "@gradcheck/db";
import { ModelService } from "./model.service.js";

@Injectable()
export class HistoryService {
  constructor(
    @Inject(ModelService) private readonly models: ModelService,
    @Inject(HistoryRepository) private readonly repository: HistoryRepository,
  ) {}

  async history(name: string, query: HistoryQuery = {}) {
    await this.models.show(name);
    return (await this.repository.history({ ...query, model: name })).map((entry) => ({ ...entry, finishedAt: entry.finishedAt?.toISOString() ?? null }));
  }
}
