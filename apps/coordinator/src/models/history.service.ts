import { BadRequestException, Inject, Injectable } from "@nestjs/common";
import type { HistoryEntryView, HistoryQuery } from "@gradcheck/contracts";
import { HistoryRepository, type HistoryEntry } from "@gradcheck/db";
import { ModelService } from "./model.service.js";

const view = (entry: HistoryEntry): HistoryEntryView => ({ ...entry, finishedAt: entry.finishedAt?.toISOString() ?? null });

@Injectable()
export class HistoryService {
  constructor(
    @Inject(ModelService) private readonly models: ModelService,
    @Inject(HistoryRepository) private readonly repository: HistoryRepository,
  ) {}

  /** The model's history, filtered; with `limit`, one page of it and the cursor of the next (null on the last). */
  async history(name: string, query: HistoryQuery = {}): Promise<{ entries: HistoryEntryView[]; nextCursor: string | null }> {
    await this.models.show(name);
    const { limit, cursor, ...filter } = query;
    if (limit === undefined) {
      if (cursor !== undefined) throw new BadRequestException("invalid request query: cursor: comes with the limit of the page it continues");
      return { entries: (await this.repository.history({ ...filter, model: name })).map(view), nextCursor: null };
    }
    const page = await this.repository.historyPage({ ...filter, model: name }, { limit, cursor });
    return { entries: page.entries.map(view), nextCursor: page.nextCursor };
  }
}
