import { createHash, randomUUID } from "node:crypto";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { SHA256_HEX } from "@gradcheck/contracts";
import { answerOf, causeOf, CoordinatorRequestError, isPermanentStatus, type CheckpointSource } from "./coordinator-http.js";

export type { CheckpointSource } from "./coordinator-http.js";

/** A checkpoint that could not be had; see CoordinatorRequestError for `permanent`. */
export class CheckpointFetchError extends CoordinatorRequestError {
  override name = "CheckpointFetchError";
}

/**
 * The local path of the checkpoint with this SHA-256, downloaded from the coordinator on
 * first use. A file in the cache was verified when it arrived, so it is used as is.
 */
export async function cachedCheckpoint(source: CheckpointSource, hash: string): Promise<string> {
  // The hash becomes a file name: anything but hex could point outside the cache.
  if (!SHA256_HEX.test(hash)) throw new CheckpointFetchError(`"${hash}" is not a SHA-256 in lowercase hex`, true);
  const path = join(source.cacheDir, `${hash}.safetensors`);
  if (await isFile(path)) return path;
  await mkdir(source.cacheDir, { recursive: true });
  await download(source, hash, path);
  return path;
}

async function download(source: CheckpointSource, hash: string, path: string): Promise<void> {
  const url = `${source.server}/api/v1/checkpoints/${hash}/content`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${source.key}` } });
  } catch (error) {
    throw new CheckpointFetchError(`cannot download checkpoint ${hash}: GET ${url} failed: ${causeOf(error)}`, false);
  }
  if (!response.ok) {
    throw new CheckpointFetchError(`cannot download checkpoint ${hash}: GET ${url} ${await answerOf(response)}`, isPermanentStatus(response.status));
  }

  // A unique temporary name and an atomic rename: threads and processes fetching the same
  // checkpoint at once each write their own file, and readers only ever see complete ones.
  const temporary = join(source.cacheDir, `.${hash}.${randomUUID()}.part`);
  try {
    const digest = await writeHashing(response, temporary).catch((error: unknown) => {
      throw new CheckpointFetchError(`cannot download checkpoint ${hash}: GET ${url}: ${causeOf(error)}`, false);
    });
    if (digest !== hash) {
      throw new CheckpointFetchError(
        `checkpoint ${hash} from ${url} has the SHA-256 ${digest}: the coordinator's copy is corrupt or the download was altered`,
        true,
      );
    }
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}

/** Streams the body to `path`, returning the SHA-256 of what was written. */
async function writeHashing(response: Response, path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await open(path, "wx");
  try {
    if (response.body) {
      for await (const chunk of response.body) {
        hash.update(chunk);
        await file.write(chunk);
      }
    }
  } finally {
    await file.close();
  }
  return hash.digest("hex");
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
