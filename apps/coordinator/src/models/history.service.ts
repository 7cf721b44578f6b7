import { Inject, Injectable } from "@nestjs/common";
import { HistoryRepository } from "@gradcheck/db";
import { ModelService } from "./model.service.js";

@Injectable()
export class HistoryService {
  constructor(
    @Inject(ModelService) private readonly models: ModelService,
    @Inject(HistoryRepository) private readonly repository: HistoryRepository,
  ) {}

  async history(name: string) {
    await this.models.show(name);
    return (await this.repository.history(name)).map((entry) => ({ ...entry, finishedAt: entry.finishedAt?.toISOString() ?? null }));
  }
}
