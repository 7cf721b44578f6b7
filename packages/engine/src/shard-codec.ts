import type { ShardJobResult } from "@gradcheck/contracts";
import type { Shard } from "./plan.js";
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
  return shardResultFromBytes(encoded.shard, Buffer.from(encoded.numeric, "base64"), Buffer.from(encoded.status, "base64"));
}

/** A shard's results from the bytes of its arrays (as a queue or a database holds them). */
function shardResultFromBytes(shard: Shard, numericBytes: Uint8Array, statusBytes: Uint8Array): ShardResult {
  const count = shard.end - shard.start;
  if (numericBytes.length !== count * Float64Array.BYTES_PER_ELEMENT || statusBytes.length !== count) {
    throw new Error(`shard ${shard.index}: results hold ${numericBytes.length / 8} values for ${count} items`);
  }
  // Copy into fresh arrays: a Buffer's bytes need not be 8-byte aligned.
  const numeric = new Float64Array(count);
  new Uint8Array(numeric.buffer).set(numericBytes);
  return { shard: { index: shard.index, start: shard.start, end: shard.end }, numeric, status: Uint8Array.from(statusBytes) };
}

function bytesOf(array: Float64Array | Uint8Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}
