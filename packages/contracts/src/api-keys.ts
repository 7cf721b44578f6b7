/**
 * Roles of API keys, each allowed what the ones before it are: viewers read; workers also
 * download checkpoints and hand in shard results; submitters also upload and submit; admins
 * everything.
 */
export const API_ROLES = ["viewer", "worker", "submitter", "admin"] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** Whether a key of role `held` may do what needs role `needed`. */
export function roleAllows(held: ApiRole, needed: ApiRole): boolean {
  return API_ROLES.indexOf(held) >= API_ROLES.indexOf(needed);
}
