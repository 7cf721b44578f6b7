import type { AuditPolicy, CheckMode } from "@gradcheck/contracts";

/**
 * The mode of an audit's checkable checkpoint number `sequence` (0 for the first): the policy's
 * `first`, then `then`, with a full check every `fullEvery`th.
 */
export function modeFor(policy: AuditPolicy, sequence: number): CheckMode {
  if (sequence === 0) return policy.first;
  if (policy.fullEvery !== null && sequence % policy.fullEvery === 0) return "full";
  return policy.then;
}
