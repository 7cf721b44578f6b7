import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { access, constants, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { InputError } from "./errors.js";

/** Writes through a temporary file and a rename, so a file is never left half-written. */
export async function writeFileAtomic(path: string, contents: string): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await writeFile(temporary, contents);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Reads and parses a JSON file; every failure names the file. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(code === "ENOENT" ? `${path}: file not found` : `${path}: cannot read (${code ?? String(error)})`);
  }
  try {
    // Editors on some systems save a byte-order mark; it is not part of the JSON.
    return JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new InputError(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

/** Fails early, naming the path, when a file could not be written there (before long work). */
export async function assertWritable(path: string, what: string): Promise<void> {
  try {
    await access(dirname(path), constants.W_OK);
  } catch (error) {
    throw new InputError(`${path}: cannot write the ${what} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** SHA-256 and size of a file, read as a stream. */
export async function fileFingerprint(path: string): Promise<{ contentHash: string; sizeBytes: number }> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { contentHash: hash.digest("hex"), sizeBytes: (await stat(path)).size };
}
