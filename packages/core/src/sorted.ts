/**
 * The first of `count` ascending positions at which `isBelow` no longer holds (binary search;
 * `count` when it holds everywhere). `isBelow(position)` must be true on a prefix only.
 */
export function lowerBound(count: number, isBelow: (position: number) => boolean): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (isBelow(middle)) low = middle + 1;
    else high = middle;
  }
  return low;
}
