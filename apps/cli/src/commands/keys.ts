import type { ApiRole } from "@gradcheck/contracts";
import type { CliConfig } from "../config.js";
import { historyLocation, withDatabase } from "../database.js";
import { InputError } from "../errors.js";
import type { Output } from "../io.js";

/** `gradcheck keys create`: the new key alone on stdout, shown this once. */
export async function createKeyCommand(options: { role: ApiRole; name: string }, output: Output, config: CliConfig): Promise<number> {
  let created;
  try {
    created = await withDatabase(config, ({ keys }) => keys.create(options.name, options.role));
  } catch (error) {
    throw new InputError(`cannot create a key in ${historyLocation(config)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  output.out(created.key);
  output.err(`Created ${options.role} key "${options.name}" in ${historyLocation(config)}. Store it now: it is not shown again.`);
  return 0;
}
