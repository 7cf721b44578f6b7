import { createStream, gaussian, type Layout } from "@gradcheck/core";
import type { SparseDirection } from "@gradcheck/models/evaluator";

/** A random direction over one tensor, named by its tensor and its global index (its seed stream). */
export interface DirectionRef {
  readonly tensor: number;
  readonly index: number;
}

/** `perTensor` directions for every tensor; direction k of tensor t has index t·perTensor + k. */
export function planDirections(layout: Layout, perTensor: number): DirectionRef[] {
  return layout.tensors.flatMap((_, tensor) => Array.from({ length: perTensor }, (_, k) => ({ tensor, index: tensor * perTensor + k })));
}

/** A unit direction with N(0,1) entries over θ[start, end), from the stream (seed, stream). */
export function randomDirection(start: number, end: number, seed: number, stream: number): SparseDirection {
  const random = createStream(seed, stream);
  const values = new Float64Array(end - start);
  let squares = 0;
  for (let n = 0; n < values.length; n++) {
    const value = gaussian(random);
    values[n] = value;
    squares += value * value;
  }
  const scale = 1 / Math.sqrt(squares);
  for (let n = 0; n < values.length; n++) values[n] *= scale;
  return { start, values };
}

/** The direction a DirectionRef names: depends only on (seed, index), never on how work is sharded. */
export function tensorDirection(layout: Layout, ref: DirectionRef, seed: number): SparseDirection {
  const slot = layout.tensors[ref.tensor];
  return randomDirection(slot.offset, slot.offset + slot.size, seed, ref.index);
}

/** v·g over the direction's support. */
export function project(direction: SparseDirection, values: Float64Array): number {
  let sum = 0;
  const count = direction.values.length;
  if ("indices" in direction) for (let n = 0; n < count; n++) sum += direction.values[n] * values[direction.indices[n]];
  else for (let n = 0; n < count; n++) sum += direction.values[n] * values[direction.start + n];
  return sum;
}

/** The directions that refs name, made one at a time as they are used, so that only one is held. */
export function* tensorDirections(layout: Layout, refs: readonly DirectionRef[], seed: number): Generator<SparseDirection> {
  for (const ref of refs) yield tensorDirection(layout, ref, seed);
}
