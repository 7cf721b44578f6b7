import { canonicalHash } from "./canonical-hash.js";
import type { Prisma, PrismaClient } from "./generated/prisma/client.js";

/** A model as stored: its latest spec, and which version that is. */
export interface ModelVersionRow {
  readonly model: { readonly id: string; readonly name: string; readonly spec: unknown; readonly createdAt: Date };
  readonly version: number;
  /** whether this call stored the version (a new model, or a spec not seen under its name before) */
  readonly created: boolean;
}

/**
 * The version of `spec` under the model `name`: the one stored with an equal spec (equal as
 * canonical JSON), or a new one, the next number, which becomes the model's latest. A spec
 * registered before keeps its number, so going back to an earlier λ finds its version again.
 */
export async function modelVersionFor(tx: Prisma.TransactionClient | PrismaClient, name: string, spec: unknown): Promise<ModelVersionRow> {
  const json = spec as Prisma.InputJsonValue;
  const model = await tx.model.upsert({ where: { name }, create: { name, spec: json }, update: {} });
  const versions = await tx.modelVersion.findMany({ where: { modelId: model.id }, orderBy: { version: "asc" } });
  const hash = canonicalHash(spec);
  const same = versions.find((stored) => canonicalHash(stored.spec) === hash);
  if (same) return { model, version: same.version, created: false };
  const version = (versions.at(-1)?.version ?? 0) + 1;
  await tx.modelVersion.create({ data: { modelId: model.id, version, spec: json } });
  const latest = version === 1 ? model : await tx.model.update({ where: { id: model.id }, data: { spec: json } });
  return { model: latest, version, created: true };
}
