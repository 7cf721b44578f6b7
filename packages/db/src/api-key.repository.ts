import { createHash, randomBytes } from "node:crypto";
import type { ApiRole } from "@gradcheck/contracts";
import type { PrismaClient } from "./generated/prisma/client.js";

const KEY_PREFIX = "gck_";

export interface CreatedKey {
  readonly id: string;
  /** the key itself: shown once, never stored */
  readonly key: string;
  readonly role: ApiRole;
}

export interface VerifiedKey {
  readonly id: string;
  readonly name: string;
  readonly role: ApiRole;
}

const hashOf = (key: string) => createHash("sha256").update(key).digest("hex");

/** API keys: only their SHA-256 is stored, with a short prefix to recognise them by. */
export class ApiKeyRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async create(name: string, role: ApiRole): Promise<CreatedKey> {
    const key = `${KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
    const row = await this.prisma.apiKey.create({
      data: { name, role, prefix: key.slice(0, KEY_PREFIX.length + 6), hash: hashOf(key) },
    });
    return { id: row.id, key, role };
  }

  /** The key's owner and role, or null for an unknown or revoked key. */
  async verify(key: string): Promise<VerifiedKey | null> {
    const row = await this.prisma.apiKey.findUnique({ where: { hash: hashOf(key) } });
    if (!row || row.revokedAt) return null;
    return { id: row.id, name: row.name, role: row.role as ApiRole };
  }

  async revoke(id: string): Promise<void> {
    await this.prisma.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
  }
}
