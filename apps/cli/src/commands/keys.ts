import type { ApiRole } from "@gradcheck/contracts";
import type { ListedKey } from "@gradcheck/db";
import Table from "cli-table3";
import pc from "picocolors";
import type { CliConfig } from "../config.js";
import { historyLocation, withDatabaseFor } from "../database.js";
import { InputError } from "../errors.js";
import type { Output } from "../io.js";
import { formatTime } from "../format.js";
import { TABLE_CHARS } from "../render.js";

/** `gradcheck keys create`: the new key alone on stdout, shown this once. */
export async function createKeyCommand(options: { role: ApiRole; name: string }, output: Output, config: CliConfig): Promise<number> {
  const created = await withDatabaseFor(config, "create a key in", ({ keys }) => keys.create(options.name, options.role));
  output.out(created.key);
  output.err(`Created ${options.role} key "${options.name}" (${created.id}) in ${historyLocation(config)}. Store it now: it is not shown again.`);
  return 0;
}

/** `gradcheck keys list`: every key's id, name, role and prefix, never the key. */
export async function listKeysCommand(options: { json: boolean }, output: Output, config: CliConfig): Promise<number> {
  const keys = await withDatabaseFor(config, "read the keys of", ({ keys }) => keys.list());
  if (options.json) {
    output.out(JSON.stringify(keys, null, 2));
    return 0;
  }
  if (keys.length === 0) {
    output.out(`No API keys in ${historyLocation(config)}: gradcheck keys create --role ROLE makes one.`);
    return 0;
  }
  const table = new Table({ head: ["id", "name", "role", "prefix", "created", "revoked"], style: { head: [], border: [] }, chars: TABLE_CHARS });
  for (const key of keys) table.push([key.id, key.name, key.role, `${key.prefix}…`, formatTime(key.createdAt), key.revokedAt ? formatTime(key.revokedAt) : pc.dim("active")]);
  output.out(table.toString());
  return 0;
}

const named = (key: ListedKey) => `${key.role} key "${key.name}" (${key.id}, ${key.prefix}…)`;

/** `gradcheck keys revoke ID|PREFIX|KEY`: the coordinator refuses the key from its next request on. */
export async function revokeKeyCommand(idOrPrefix: string, output: Output, config: CliConfig): Promise<number> {
  const result = await withDatabaseFor(config, "revoke a key in", ({ keys }) => keys.revoke(idOrPrefix));
  switch (result.outcome) {
    case "unknown":
      throw new InputError(`no API key in ${historyLocation(config)} has the id or prefix "${idOrPrefix}" (gradcheck keys list shows them)`);
    case "ambiguous":
      throw new InputError(`"${idOrPrefix}" is the prefix of ${result.keys.length} keys (${result.keys.map((key) => key.id).join(", ")}): give the id`);
    case "too-short":
      throw new InputError(`"${idOrPrefix}" is too short to name one key: give its id, or its whole prefix as gradcheck keys list shows it (${result.needed} characters)`);
    case "already-revoked":
      output.out(`The ${named(result.key)} was revoked already, at ${formatTime(result.key.revokedAt!)} UTC.`);
      return 0;
    case "revoked":
      output.out(`Revoked the ${named(result.key)}: the coordinator refuses it from its next request on.`);
      return 0;
  }
}
