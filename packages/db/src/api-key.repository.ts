import { createHash, randomBytes } from "node:crypto";
import type { ApiRole } from "@gradcheck/contracts";
import type { PrismaClient } from "./generated/prisma/client.js";

const KEY_PREFIX = "gck_";
/** how much of a key is stored in clear, to recognise it by: "gck_" and six characters */
const SHOWN_LENGTH = KEY_PREFIX.length + 6;

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

/** A key as listed: everything but the key itself, which is never stored. */
export interface ListedKey {
  readonly id: string;
  readonly name: string;
  readonly role: ApiRole;
  /** the key's first characters, to recognise it by */
  readonly prefix: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

/** What `revoke` did: revoked the key now, found it revoked already, or found no key, several, or too short a prefix to tell. */
export type RevokeOutcome =
  | { readonly outcome: "revoked" | "already-revoked"; readonly key: ListedKey }
  | { readonly outcome: "unknown" }
  | { readonly outcome: "ambiguous"; readonly keys: readonly ListedKey[] }
  | { readonly outcome: "too-short"; readonly needed: number };

const hashOf = (key: string) => createHash("sha256").update(key).digest("hex");

function listed(row: { id: string; name: string; role: string; prefix: string; createdAt: Date; revokedAt: Date | null }): ListedKey {
  return { id: row.id, name: row.name, role: row.role as ApiRole, prefix: row.prefix, createdAt: row.createdAt, revokedAt: row.revokedAt };
}

/** API keys: only their SHA-256 is stored, with a short prefix to recognise them by. */
export class ApiKeyRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async create(name: string, role: ApiRole): Promise<CreatedKey> {
    const key = `${KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
    const row = await this.prisma.apiKey.create({
      data: { name, role, prefix: key.slice(0, SHOWN_LENGTH), hash: hashOf(key) },
    });
    return { id: row.id, key, role };
  }

  /** The key's owner and role, or null for an unknown or revoked key. */
  async verify(key: string): Promise<VerifiedKey | null> {
    const row = await this.prisma.apiKey.findUnique({ where: { hash: hashOf(key) } });
    if (!row || row.revokedAt) return null;
    return { id: row.id, name: row.name, role: row.role as ApiRole };
  }

  /** Every key, oldest first, revoked ones included (with when). */
  async list(): Promise<ListedKey[]> {
    const rows = await this.prisma.apiKey.findMany({ orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
    return rows.map(listed);
  }

  /**
   * Revokes a key given by its id, by its prefix as listed (a trailing "…" allowed), or by the
   * key itself. A shorter prefix is refused rather than matched: "gck_" alone would name every
   * key. A key revoked already keeps its first revocation time.
   */
  async revoke(reference: string): Promise<RevokeOutcome> {
    const given = reference.replace(/…$/, "");
    if (given.startsWith(KEY_PREFIX) && given.length < SHOWN_LENGTH) return { outcome: "too-short", needed: SHOWN_LENGTH };
    const where = !given.startsWith(KEY_PREFIX) ? { id: given } : given.length === SHOWN_LENGTH ? { prefix: given } : { hash: hashOf(given) };
    const matches = await this.prisma.apiKey.findMany({ where, orderBy: { createdAt: "asc" } });
    if (matches.length === 0) return { outcome: "unknown" };
    if (matches.length > 1) return { outcome: "ambiguous", keys: matches.map(listed) };
    const [row] = matches;
    if (row.revokedAt) return { outcome: "already-revoked", key: listed(row) };
    // only if still active: two revocations at once keep the first time
    await this.prisma.apiKey.updateMany({ where: { id: row.id, revokedAt: null }, data: { revokedAt: new Date() } });
    return { outcome: "revoked", key: listed(await this.prisma.apiKey.findUniqueOrThrow({ where: { id: row.id } })) };
  }
}
