import type { ShardJobResult } from "@gradcheck/contracts";
import { identityOf, type ShardResult } from "./shard.js";

// A status byte carries the CoordinateStatus (0–2) in its low 4 bits and the ScreenOutcome
// (0–3; 0 = float64, no screen) in its high 4, so that a stored shard keeps both in one column.
const SCREEN_SHIFT = 4;
const STATUS_MASK = 0x0f;

/** A shard's results as JSON for a queue: typed arrays as base64 of their bytes. */
export function encodeShardResult(result: ShardResult, seconds: number): ShardJobResult {
  const { screen } = result;
  let status = result.status;
  if (screen) {
    status = new Uint8Array(status.length);
    for (let n = 0; n < status.length; n++) status[n] = result.status[n] | (screen[n] << SCREEN_SHIFT);
  }
  return {
    shard: { index: result.shard.index, start: result.shard.start, end: result.shard.end },
    numeric: bytesOf(result.numeric).toString("base64"),
    status: bytesOf(status).toString("base64"),
    backend: identityOf(result.backend),
    seconds,
  };
}

export function decodeShardResult(encoded: ShardJobResult): ShardResult {
  return shardResultFromBytes(encoded, Buffer.from(encoded.numeric, "base64"), Buffer.from(encoded.status, "base64"));
}

/** decodeShardResult for a caller that has decoded the base64 already (to store the bytes too). */
export function shardResultFromBytes(encoded: ShardJobResult, numericBytes: Uint8Array, statusBytes: Uint8Array): ShardResult {
  const { shard } = encoded;
  const count = shard.end - shard.start;
  if (numericBytes.length !== count * Float64Array.BYTES_PER_ELEMENT || statusBytes.length !== count) {
    throw new Error(`shard ${shard.index}: results hold ${numericBytes.length / 8} values for ${count} items`);
  }
  // Copy into fresh arrays: a Buffer's bytes need not be 8-byte aligned.
  const numeric = new Float64Array(count);
  new Uint8Array(numeric.buffer).set(numericBytes);
  // plain loops: a callback per item costs a tenth of a second on a million
  const status = new Uint8Array(count);
  let screened = false;
  for (let n = 0; n < count; n++) {
    status[n] = statusBytes[n] & STATUS_MASK;
    if (statusBytes[n] >> SCREEN_SHIFT !== 0) screened = true;
  }
  let screen: Uint8Array | undefined;
  if (screened) {
    screen = new Uint8Array(count);
    for (let n = 0; n < count; n++) screen[n] = statusBytes[n] >> SCREEN_SHIFT;
  }
  return {
    shard: { index: shard.index, start: shard.start, end: shard.end },
    numeric,
    status,
    ...(screen ? { screen } : {}),
    backend: identityOf(encoded.backend),
  };
}

function bytesOf(array: Float64Array | Uint8Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}
