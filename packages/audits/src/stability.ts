/** A file as a scan saw it. */
export interface FileObservation {
  readonly sizeBytes: number;
  readonly mtimeMs: number;
}

/** What the last scan recorded of a file: its observation, and whether it was taken then. */
export interface RecordedObservation extends FileObservation {
  readonly taken: boolean;
}

/**
 * What a scan does with a file: `wait` (new or changed since the last scan: it may still be
 * being written), `take` (the same size and mtime as at the last scan, and not yet taken) or
 * `skip` (taken already, unchanged since).
 */
export type FileDecision = "wait" | "take" | "skip";

export function fileDecision(previous: RecordedObservation | undefined, current: FileObservation): FileDecision {
  if (!previous || previous.sizeBytes !== current.sizeBytes || previous.mtimeMs !== current.mtimeMs) return "wait";
  return previous.taken ? "skip" : "take";
}
