import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import picomatch from "picomatch";

/** A checkpoint file a scan found. */
export interface FoundFile {
  /** as the source names it: relative to the folder (or the glob's fixed part) */
  readonly name: string;
  readonly path: string;
  readonly sizeBytes: number;
  readonly mtimeMs: number;
}

export class SourceError extends Error {
  override name = "SourceError";
}

const GLOB_CHARS = /[*?[\]{}!]/;

/**
 * The checkpoint files of a source: every `*.safetensors` directly in a folder, or every
 * file a glob matches (`ckpt-*.safetensors` below the glob's fixed folder, `**` for any depth). Hidden files and
 * names ending in .tmp or .partial are left out: a writer that renames into place when done
 * is never read half-written.
 */
export async function findCheckpointFiles(source: string): Promise<FoundFile[]> {
  const { base, matches } = matcherOf(source);
  let names: string[];
  try {
    names = (await readdir(base, { recursive: GLOB_CHARS.test(source) })).map(String);
  } catch (error) {
    throw new SourceError(`cannot read ${base} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const found: FoundFile[] = [];
  for (const name of names.sort()) {
    const portable = name.split(sep).join("/");
    if (!matches(portable) || isTemporary(portable)) continue;
    const path = join(base, name);
    // a file removed or replaced between the listing and now is seen by the next scan
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) continue;
    found.push({ name: portable, path, sizeBytes: info.size, mtimeMs: info.mtimeMs });
  }
  return found;
}

/** Files in the order they were written (mtime, then name): the policy's "first" is the oldest, and a copy comes after its original. */
export function inWritingOrder<T extends Pick<FoundFile, "name" | "mtimeMs">>(files: readonly T[]): T[] {
  return [...files].sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function matcherOf(source: string): { base: string; matches: (name: string) => boolean } {
  if (!GLOB_CHARS.test(source)) return { base: source, matches: (name) => !name.includes("/") && name.endsWith(".safetensors") };
  const parts = source.split("/");
  const fixed = parts.findIndex((part) => GLOB_CHARS.test(part));
  const base = parts.slice(0, fixed).join("/") || (source.startsWith("/") ? "/" : ".");
  const pattern = relative(base, source).split(sep).join("/");
  const matcher = picomatch(pattern, { dot: false });
  return { base, matches: (name) => matcher(name) };
}

function isTemporary(name: string): boolean {
  const file = name.slice(name.lastIndexOf("/") + 1);
  return file.startsWith(".") || /\.(tmp|partial|part|incomplete)$/i.test(file);
}

/**
 * A step from a file's name when its metadata has none: the last number in it
 * (`step-000300.safetensors` → 300), or null.
 */
export function stepFromFileName(name: string): number | null {
  const stem = name.slice(name.lastIndexOf("/") + 1).replace(/\.safetensors$/i, "");
  const digits = stem.match(/\d+/g);
  if (!digits) return null;
  const step = Number(digits[digits.length - 1]);
  return Number.isSafeInteger(step) && step <= 2 ** 31 - 1 ? step : null;
}
