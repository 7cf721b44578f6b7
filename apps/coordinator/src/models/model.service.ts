import { ConflictException, Inject, Injectable, NotFoundException } from "@nestjs/common";
import { canonicalHash, ModelRepository, type ModelRow } from "@gradcheck/db";
import { checkSpecJson, isPrintableName, parseCheckSpec, type CheckSpec } from "@gradcheck/models";

export interface ModelView {
  readonly name: string;
  readonly spec: unknown;
  readonly createdAt: string;
}

const view = (row: ModelRow): ModelView => ({ name: row.name, spec: row.spec, createdAt: row.createdAt.toISOString() });

@Injectable()
export class ModelService {
  constructor(@Inject(ModelRepository) private readonly models: ModelRepository) {}

  /** Registers a spec; the same spec again is a no-op, another spec under a taken name a conflict. */
  async register(body: unknown): Promise<{ model: ModelView; created: boolean }> {
    // either version; what is stored is the spec with its defaults filled in
    const spec = checkSpecJson(parseCheckSpec(body, "model spec"));
    const { row, created } = await this.models.create(spec.name, spec);
    if (!created && canonicalHash(row.spec) !== canonicalHash(spec)) {
      throw new ConflictException(`a model named "${spec.name}" is already registered with a different spec; register this one under another name`);
    }
    return { model: view(row), created };
  }

  async list() {
    return (await this.models.list()).map((row) => ({ ...view(row), checkpoints: row._count.checkpoints, checks: row._count.checks }));
  }

  async show(name: string): Promise<ModelView> {
    return view(await this.row(name));
  }

  /** The model and its validated spec, or 404. */
  async spec(name: string): Promise<{ row: ModelRow; spec: CheckSpec }> {
    const row = await this.row(name);
    return { row, spec: parseCheckSpec(row.spec, `model "${name}"`) };
  }

  private async row(name: string): Promise<ModelRow> {
    const row = isPrintableName(name) ? await this.models.findByName(name) : null;
    if (!row) throw new NotFoundException(`no model named "${name}"; register it with POST /api/v1/models`);
    return row;
  }
}
