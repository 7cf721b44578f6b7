/** Index of the first NaN or ±Infinity in `values`, or -1 if all are finite. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) return i;
  }
  return -1;
}

/** Row-major multi-index of `flatIndex` in a tensor of `shape`, e.g. shape [5,4], 9 -> "[2,1]". */
export function formatIndex(shape: readonly number[], flatIndex: number): string {
  let count = 1;
  for (const dim of shape) count *= dim;
  if (!Number.isSafeInteger(flatIndex) || flatIndex < 0 || flatIndex >= count) {
    throw new RangeError(`flat index ${flatIndex} is outside a tensor of shape [${shape.join(",")}] (${count} elements)`);
  }
  const parts = new Array<number>(shape.length);
  let rest = flatIndex;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    parts[axis] = rest % shape[axis];
    rest = Math.floor(rest / shape[axis]);
  }
  return `[${parts.join(",")}]`;
}
