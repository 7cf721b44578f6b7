import { createHash, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

export class UploadTooLargeError extends Error {
  override name = "UploadTooLargeError";
}

/** A file received into the incoming folder, not yet accepted. */
export interface IncomingFile {
  readonly path: string;
  readonly hash: string;
  readonly sizeBytes: number;
}

/**
 * Checkpoint files on the coordinator's disk, named by their SHA-256: uploads are streamed to
 * an incoming folder while hashed, and moved into place only once validated.
 */
export class CheckpointStorage {
  constructor(private readonly root: string) {}

  pathOf(hash: string): string {
    return join(this.root, "checkpoints", `${hash}.safetensors`);
  }

  async has(hash: string): Promise<boolean> {
    return stat(this.pathOf(hash)).then(
      () => true,
      () => false,
    );
  }

  /** Streams a body to disk, hashing it, and stops past `maxBytes`; nothing is left behind on failure. */
  async receive(body: Readable, maxBytes: number): Promise<IncomingFile> {
    const folder = join(this.root, "incoming");
    await mkdir(folder, { recursive: true });
    const path = join(folder, randomUUID());
    const hash = createHash("sha256");
    let sizeBytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sizeBytes += chunk.length;
        if (sizeBytes > maxBytes) return done(new UploadTooLargeError(`the upload is larger than the limit of ${maxBytes} bytes`));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(path, { flags: "wx" }));
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
    return { path, hash: hash.digest("hex"), sizeBytes };
  }

  /** Moves a validated file into place (the same bytes may already be there). */
  async accept(file: IncomingFile): Promise<void> {
    await mkdir(join(this.root, "checkpoints"), { recursive: true });
    await rename(file.path, this.pathOf(file.hash));
  }

  /** Removes what a previous process left half-received (it stopped mid-upload). */
  async clearIncoming(): Promise<void> {
    await rm(join(this.root, "incoming"), { recursive: true, force: true });
  }

  async discard(file: IncomingFile): Promise<void> {
    await rm(file.path, { force: true });
  }
}
