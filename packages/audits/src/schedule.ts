import { MIN_AUDIT_INTERVAL_MS, type AuditSchedule } from "@gradcheck/contracts";
import { CronExpressionParser } from "cron-parser";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30s", "5m", "1h", "1500ms" → milliseconds; null when it is not one. */
export function parseDuration(text: string): number | null {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return null;
  const value = Number(match[1]) * UNIT_MS[match[2]];
  return Number.isSafeInteger(value) ? value : null;
}

/** A duration in its plainest unit: 90000 → "90s". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Why a schedule cannot run, or null: a cron pattern that does not parse, an interval under a second. */
export function scheduleProblem(schedule: AuditSchedule): string | null {
  if ("every" in schedule) return schedule.every < MIN_AUDIT_INTERVAL_MS ? `an interval of at least ${MIN_AUDIT_INTERVAL_MS} ms` : null;
  try {
    CronExpressionParser.parse(schedule.cron);
    return null;
  } catch (error) {
    return `"${schedule.cron}" is not a cron pattern (${(error as Error).message})`;
  }
}

export function describeSchedule(schedule: AuditSchedule | null): string {
  if (!schedule) return "pushed (no schedule)";
  return "every" in schedule ? `every ${formatDuration(schedule.every)}` : `cron ${schedule.cron}`;
}
