import { sizeOf, type Shape } from "./layer.js";

/**
 * What a perturbation changed in an activation [m, ...shape]: for the examples `examples`
 * and the slices `slices` along the first dimension of each example's shape (channels of an
 * image, positions of a sequence, features of a vector), the new values, laid out
 * [examples, slices, slice]. Everything outside the block is as in the unperturbed pass;
 * the block may hold unchanged values too (it is the product of two index sets).
 */
export interface Change {
  readonly examples: Int32Array;
  readonly slices: Int32Array;
  readonly values: Float64Array;
}

export const NO_CHANGE: Change = { examples: new Int32Array(0), slices: new Int32Array(0), values: new Float64Array(0) };

/** How a per-example shape splits into slices along its first dimension. */
export function slicesOf(shape: Shape): { count: number; size: number } {
  const count = shape.length === 0 ? 1 : shape[0];
  return { count, size: sizeOf(shape) / count };
}

export function allIndices(count: number): Int32Array {
  const indices = new Int32Array(count);
  for (let index = 0; index < count; index++) indices[index] = index;
  return indices;
}

/** The values of `full` ([m, ...shape]) in the block examples × slices. */
export function gatherBlock(full: Float64Array, shape: Shape, examples: ArrayLike<number>, slices: ArrayLike<number>): Float64Array {
  const { count, size } = slicesOf(shape);
  const exampleSize = sizeOf(shape);
  if (slices.length === count && examples.length * exampleSize === full.length && examples[examples.length - 1] === examples.length - 1) {
    // the whole activation (sorted examples, all of them)
    return full.slice();
  }
  const block = new Float64Array(examples.length * slices.length * size);
  if (slices.length === count) {
    // every slice: whole examples
    for (let e = 0; e < examples.length; e++) block.set(full.subarray(examples[e] * exampleSize, (examples[e] + 1) * exampleSize), e * exampleSize);
    return block;
  }
  let at = 0;
  for (let e = 0; e < examples.length; e++) {
    const base = examples[e] * exampleSize;
    for (let s = 0; s < slices.length; s++) {
      // small slices element by element: a subarray per slice costs more than it copies
      const from = base + slices[s] * size;
      if (size < 32) for (let i = 0; i < size; i++) block[at++] = full[from + i];
      else {
        block.set(full.subarray(from, from + size), at);
        at += size;
      }
    }
  }
  return block;
}

/** The changed examples in full ([examples, ...shape]): the unperturbed values with the change written in. */
export function examplesWith(full: Float64Array, shape: Shape, change: Change): Float64Array {
  const out = gatherBlock(full, shape, change.examples, allIndices(slicesOf(shape).count));
  scatter(out, shape, change, (e) => e);
  return out;
}

/** The whole activation with the change written in (for the layers that mix examples). */
export function withChange(full: Float64Array, shape: Shape, change: Change): Float64Array {
  const out = full.slice();
  scatter(out, shape, change, (e) => change.examples[e]);
  return out;
}

/** Writes the change's values into `out` ([examples, ...shape]), its e-th example at example `at(e)`. */
function scatter(out: Float64Array, shape: Shape, change: Change, at: (e: number) => number): void {
  const exampleSize = sizeOf(shape);
  const { size } = slicesOf(shape);
  for (let e = 0; e < change.examples.length; e++)
    for (let s = 0; s < change.slices.length; s++) {
      const from = (e * change.slices.length + s) * size;
      const to = at(e) * exampleSize + change.slices[s] * size;
      for (let i = 0; i < size; i++) out[to + i] = change.values[from + i];
    }
}

/**
 * The change between unperturbed and new values of some examples (`moved` [examples, ...shape],
 * `examples` of `full` [m, ...shape]): the examples and slices where any value differs.
 */
export function changeBetween(full: Float64Array, shape: Shape, examples: ArrayLike<number>, moved: Float64Array): Change {
  const exampleSize = sizeOf(shape);
  const { count, size } = slicesOf(shape);
  const changedSlices = new Uint8Array(count);
  const changedExamples: number[] = [];
  for (let e = 0; e < examples.length; e++) {
    const base = examples[e] * exampleSize;
    let any = false;
    for (let s = 0; s < count; s++) {
      if (changedSlices[s] && any) continue;
      for (let i = s * size; i < (s + 1) * size; i++)
        if (full[base + i] !== moved[e * exampleSize + i]) {
          changedSlices[s] = 1;
          any = true;
          break;
        }
    }
    if (any) changedExamples.push(e);
  }
  if (changedExamples.length === 0) return NO_CHANGE;
  const slices = allIndices(count).filter((s) => changedSlices[s] === 1);
  const block = gatherBlock(moved, shape, changedExamples, slices);
  return { examples: Int32Array.from(changedExamples, (e) => examples[e]), slices, values: block };
}

/** Sorted union of two sorted index sets. */
export function unionOf(a: Int32Array, b: Int32Array): Int32Array {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i] < b[j])) out.push(a[i++]);
    else if (i >= a.length || b[j] < a[i]) out.push(b[j++]);
    else {
      out.push(a[i++]);
      j++;
    }
  }
  return Int32Array.from(out);
}

/** `change` written into a block (examples × slices ⊇ the change's own) of values [examples, slices, slice]. */
export function writeInto(block: Float64Array, examples: Int32Array, slices: Int32Array, change: Change, size: number): void {
  const exampleAt = positionsIn(examples, change.examples);
  const sliceAt = positionsIn(slices, change.slices);
  for (let e = 0; e < change.examples.length; e++) {
    const row = exampleAt[e] * slices.length;
    for (let s = 0; s < change.slices.length; s++) {
      const from = (e * change.slices.length + s) * size;
      const to = (row + sliceAt[s]) * size;
      for (let i = 0; i < size; i++) block[to + i] = change.values[from + i];
    }
  }
}

/** Where each of `subset` (sorted) sits in `set` (sorted). */
function positionsIn(set: Int32Array, subset: Int32Array): Int32Array {
  const at = new Int32Array(subset.length);
  let j = 0;
  for (let i = 0; i < subset.length; i++) {
    while (set[j] !== subset[i]) j++;
    at[i] = j;
  }
  return at;
}
