import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cachedCheckpoint, CheckpointFetchError, type CheckpointSource } from "./checkpoint-cache.js";
import { startCheckpointServer, type CheckpointServer } from "./test-support/checkpoint-server.js";
import { sha256 } from "./test-support/checkpoint.js";

const KEY = "test-key";
const content = Buffer.from("not a real checkpoint, but bytes with a hash ".repeat(5000));
const hash = sha256(content);

let server: CheckpointServer;
let root: string;
let cacheDir: string;
let source: CheckpointSource;

beforeEach(async () => {
  server = await startCheckpointServer(KEY);
  root = await mkdtemp(join(tmpdir(), "gradcheck-cache-test-"));
  cacheDir = join(root, "cache");
  source = { server: server.url, key: KEY, cacheDir };
});

afterEach(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<CheckpointFetchError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CheckpointFetchError);
  return error as CheckpointFetchError;
}

describe("cachedCheckpoint", () => {
  it("downloads with the key, verifies, keeps the file and reuses it", async () => {
    server.files.set(hash, content);
    const path = await cachedCheckpoint(source, hash);
    expect(path).toBe(join(cacheDir, `${hash}.safetensors`));
    expect((await readFile(path)).equals(content)).toBe(true);
    expect(await cachedCheckpoint(source, hash)).toBe(path);
    expect(server.requests).toEqual([`GET /api/v1/checkpoints/${hash}/content`]);
    expect(await readdir(cacheDir)).toEqual([`${hash}.safetensors`]);
  });

  it("serves several fetches of the same hash at once", async () => {
    server.files.set(hash, content);
    const paths = await Promise.all(Array.from({ length: 4 }, () => cachedCheckpoint(source, hash)));
    expect(new Set(paths).size).toBe(1);
    expect((await readFile(paths[0])).equals(content)).toBe(true);
    expect(await readdir(cacheDir)).toEqual([`${hash}.safetensors`]);
  });

  it("refuses content that does not match the hash and leaves nothing behind", async () => {
    server.files.set(hash, Buffer.concat([content, Buffer.from("!")]));
    const error = await failure(cachedCheckpoint(source, hash));
    expect(error.message).toMatch(new RegExp(`checkpoint ${hash} from .* has the SHA-256 [0-9a-f]{64}: the coordinator's copy is corrupt`));
    expect(error.permanent).toBe(true);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it("reports the status and the server's message of a refusal as permanent", async () => {
    const missing = await failure(cachedCheckpoint(source, hash));
    expect(missing.message).toBe(
      `cannot download checkpoint ${hash}: GET ${server.url}/api/v1/checkpoints/${hash}/content answered 404 Not Found: no checkpoint ${hash}`,
    );
    expect(missing.permanent).toBe(true);

    server.files.set(hash, content);
    const unauthorized = await failure(cachedCheckpoint({ ...source, key: "wrong" }, hash));
    expect(unauthorized.message).toMatch(/answered 401 Unauthorized: unknown API key$/);
    expect(unauthorized.permanent).toBe(true);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it("treats a 5xx and an unreachable coordinator as transient", async () => {
    server.files.set(hash, content);
    server.failures.set(hash, 1);
    const busy = await failure(cachedCheckpoint(source, hash));
    expect(busy.message).toMatch(/answered 503 Service Unavailable: storage is busy$/);
    expect(busy.permanent).toBe(false);
    await cachedCheckpoint(source, hash);

    await server.close();
    const down = await failure(cachedCheckpoint({ ...source, cacheDir: join(cacheDir, "other") }, hash));
    expect(down.message).toMatch(new RegExp(`cannot download checkpoint ${hash}: GET ${server.url}/.* failed: .*ECONNREFUSED`));
    expect(down.permanent).toBe(false);
  });

  it("refuses a hash that is not lowercase hex before touching the disk", async () => {
    const error = await failure(cachedCheckpoint(source, "../../etc/passwd"));
    expect(error.message).toBe(`"../../etc/passwd" is not a SHA-256 in lowercase hex`);
    await expect(readdir(cacheDir)).rejects.toThrow(/ENOENT/);
  });
});
