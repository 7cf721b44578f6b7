/** The CLI's view of its environment; the only module that reads process.env. */
export interface CliConfig {
  /** print stack traces of internal errors */
  readonly debug: boolean;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  return { debug: env.GRADCHECK_DEBUG === "1" };
}
