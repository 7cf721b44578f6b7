import { shardResultsBodyBytes, type ShardJobResult } from "@gradcheck/contracts";
import { identityOf, type ShardResult } from "./shard.js";

// A shard's results travel from a worker to the coordinator as one body of bytes: the float64
// numerical derivatives (little-endian, as typed arrays are on every platform Node runs on),
// then a status byte per item carrying the CoordinateStatus (0–2) in its low 4 bits and the
// ScreenOutcome (0–3; 0 = float64, no screen) in its high 4. The coordinator stores the two
// parts as they are, and aggregation decodes them.
const SCREEN_SHIFT = 4;
const STATUS_MASK = 0x0f;

/** What a shard job returns through the queue: who computed which shard, and how fast. */
export function shardJobResult(result: ShardResult, seconds: number): ShardJobResult {
  return { shard: { index: result.shard.index, start: result.shard.start, end: result.shard.end }, backend: identityOf(result.backend), seconds };
}

/** The shard's results as the body a worker hands the coordinator. */
export function shardResultsBody(result: ShardResult): Buffer {
  const count = result.numeric.length;
  const body = Buffer.allocUnsafe(shardResultsBodyBytes(count));
  body.set(new Uint8Array(result.numeric.buffer, result.numeric.byteOffset, result.numeric.byteLength), 0);
  const { screen } = result;
  const status = body.subarray(8 * count);
  if (screen) for (let n = 0; n < count; n++) status[n] = result.status[n] | (screen[n] << SCREEN_SHIFT);
  else status.set(result.status);
  return body;
}

/** Splits a results body into its numeric and status parts; null when its length does not fit `items`. */
export function splitShardResultsBody<B extends ArrayBufferLike>(body: Uint8Array<B>, items: number): { numeric: Uint8Array<B>; status: Uint8Array<B> } | null {
  if (body.length !== shardResultsBodyBytes(items)) return null;
  return { numeric: body.subarray(0, 8 * items), status: body.subarray(8 * items) };
}

/** A shard's results from its stored parts and its job's return value. */
export function shardResultFromBytes(meta: Pick<ShardJobResult, "shard" | "backend">, numericBytes: Uint8Array, statusBytes: Uint8Array): ShardResult {
  const { shard } = meta;
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
    backend: identityOf(meta.backend),
  };
}

/** shardResultFromBytes of a whole body, as a worker sent it. */
export function shardResultFromBody(meta: Pick<ShardJobResult, "shard" | "backend">, body: Uint8Array): ShardResult {
  const count = meta.shard.end - meta.shard.start;
  const parts = splitShardResultsBody(body, count);
  if (!parts) throw new Error(`shard ${meta.shard.index}: a body of ${body.length} bytes does not hold ${count} items (${shardResultsBodyBytes(count)} bytes)`);
  return shardResultFromBytes(meta, parts.numeric, parts.status);
}
