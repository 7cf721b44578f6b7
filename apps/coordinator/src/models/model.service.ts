import { Inject, Injectable, NotFoundException } from "@nestjs/common";
import type { ModelView } from "@gradcheck/contracts";
import { ModelRepository, type ModelRow } from "@gradcheck/db";
import { checkSpecJson, isPrintableName, parseCheckSpec, type CheckSpec } from "@gradcheck/models";

const view = (row: ModelRow, spec: unknown, version: number): ModelView => ({ name: row.name, spec, version, createdAt: row.createdAt.toISOString() });

@Injectable()
export class ModelService {
  constructor(@Inject(ModelRepository) private readonly models: ModelRepository) {}

  /**
   * Registers a spec under its name: the same spec again finds its version (created: false);
   * a changed one (another λ, another layer) becomes the model's next version, and the checks
   * made under the earlier ones keep theirs.
   */
  async register(body: unknown): Promise<{ model: ModelView; created: boolean }> {
    // either version; what is stored is the spec with its defaults filled in
    const spec = checkSpecJson(parseCheckSpec(body, "model spec"));
    const { row, version, created } = await this.models.register(spec.name, spec);
    return { model: view(row, spec, version), created };
  }

  async list() {
    return (await this.models.list()).map((row) => ({ ...view(row, row.spec, row._count.versions || 1), checkpoints: row._count.checkpoints, checks: row._count.checks }));
  }

  /** The model with its latest spec. */
  async show(name: string): Promise<ModelView> {
    const row = await this.row(name);
    return view(row, row.spec, await this.models.latestVersion(row.id));
  }

  /** The model and one version's validated spec (the latest when none is asked for), or 404. */
  async spec(name: string, version?: number): Promise<{ row: ModelRow; spec: CheckSpec; version: number }> {
    const row = await this.row(name);
    const number = version ?? (await this.models.latestVersion(row.id));
    const json = version === undefined ? row.spec : await this.models.version(row.id, version);
    if (json === null) throw new NotFoundException(`model "${name}" has no spec version ${version}; POST /api/v1/models registers a spec and answers its version`);
    return { row, spec: parseCheckSpec(json, `model "${name}" (spec version ${number})`), version: number };
  }

  private async row(name: string): Promise<ModelRow> {
    const row = isPrintableName(name) ? await this.models.findByName(name) : null;
    if (!row) throw new NotFoundException(`no model named "${name}"; register it with POST /api/v1/models`);
    return row;
  }
}
