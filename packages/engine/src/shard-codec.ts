import type { ShardJobResult } from "@gradcheck/contracts";
import type { ShardResult } from "./shard.js";

/** A shard's results as JSON for a queue: typed arrays as base64 of their bytes. */
export function encodeShardResult(result: ShardResult, seconds: number): ShardJobResult {
  return {
    shard: { index: result.shard.index, start: result.shard.start, end: result.shard.end },
    numeric: bytesOf(result.numeric).toString("base64"),
    status: bytesOf(result.status).toString("base64"),
    seconds,
  };
}

export function decodeShardResult(encoded: ShardJobResult): ShardResult {
  const count = encoded.shard.end - encoded.shard.start;
  const numericBytes = Buffer.from(encoded.numeric, "base64");
  const statusBytes = Buffer.from(encoded.status, "base64");
  if (numericBytes.length !== count * Float64Array.BYTES_PER_ELEMENT || statusBytes.length !== count) {
    throw new Error(`shard ${encoded.shard.index}: results hold ${numericBytes.length / 8} values for ${count} items`);
  }
  // Copy into fresh arrays: a Buffer's bytes need not be 8-byte aligned.
  const numeric = new Float64Array(count);
  new Uint8Array(numeric.buffer).set(numericBytes);
  return { shard: encoded.shard, numeric, status: Uint8Array.from(statusBytes) };
}

function bytesOf(array: Float64Array | Uint8Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}
