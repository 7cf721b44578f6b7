import { homedir } from "node:os";
import { join } from "node:path";

/** The CLI's view of its environment; the only module that reads process.env. */
export interface CliConfig {
  /** print stack traces of internal errors */
  readonly debug: boolean;
  /** PostgreSQL for the history; when absent, an embedded database in dataDir */
  readonly databaseUrl?: string;
  /** folder of the embedded history database */
  readonly dataDir: string;
  /** coordinator URL for `gradcheck submit` (GRADCHECK_SERVER); --server overrides it */
  readonly server?: string;
  /** API key for the coordinator (GRADCHECK_KEY); --key overrides it, but the environment keeps it out of `ps` */
  readonly key?: string;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  return {
    debug: env.GRADCHECK_DEBUG === "1",
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.GRADCHECK_DATA_DIR || join(homedir(), ".gradcheck", "history"),
    server: env.GRADCHECK_SERVER || undefined,
    key: env.GRADCHECK_KEY || undefined,
  };
}
