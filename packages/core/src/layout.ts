/** Where each named tensor lives inside the flat parameter vector θ. */
export interface TensorShape {
  readonly name: string;
  readonly shape: readonly number[];
}

export interface TensorSlot extends TensorShape {
  /** First index of this tensor in θ. */
  readonly offset: number;
  /** Number of elements (product of the shape). */
  readonly size: number;
}

export interface Layout {
  readonly tensors: readonly TensorSlot[];
  readonly total: number;
}

export interface Coordinate {
  readonly slot: TensorSlot;
  /** Position of the tensor in the layout. */
  readonly tensorIndex: number;
  /** Row-major index inside the tensor. */
  readonly local: number;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, dimension) => product * dimension, 1);
}

export function createLayout(shapes: readonly TensorShape[]): Layout {
  const seen = new Set<string>();
  let offset = 0;
  const tensors = shapes.map(({ name, shape }) => {
    if (seen.has(name)) throw new Error(`layout: tensor "${name}" appears twice`);
    seen.add(name);
    const size = elementCount(shape);
    const slot: TensorSlot = { name, shape: [...shape], offset, size };
    offset += size;
    return slot;
  });
  return { tensors, total: offset };
}

/** Concatenates the named tensors into θ, in layout order. */
export function flatten(layout: Layout, values: ReadonlyMap<string, ArrayLike<number>>): Float64Array {
  const theta = new Float64Array(layout.total);
  for (const slot of layout.tensors) {
    const tensor = values.get(slot.name);
    if (!tensor) throw new Error(`layout: tensor "${slot.name}" is missing`);
    if (tensor.length !== slot.size) {
      throw new Error(`layout: tensor "${slot.name}" has ${tensor.length} elements, expected ${slot.size}`);
    }
    theta.set(tensor, slot.offset);
  }
  return theta;
}

/** Splits θ back into named tensors (copies, so θ can change independently). */
export function unflatten(layout: Layout, theta: Float64Array): Map<string, Float64Array> {
  if (theta.length !== layout.total) {
    throw new Error(`layout: θ has ${theta.length} elements, expected ${layout.total}`);
  }
  return new Map(layout.tensors.map((slot) => [slot.name, theta.slice(slot.offset, slot.offset + slot.size)]));
}

export function coordinateAt(layout: Layout, flatIndex: number): Coordinate {
  if (!Number.isInteger(flatIndex) || flatIndex < 0 || flatIndex >= layout.total) {
    throw new RangeError(`layout: index ${flatIndex} is outside θ (0..${layout.total - 1})`);
  }
  let low = 0;
  let high = layout.tensors.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (layout.tensors[middle].offset <= flatIndex) low = middle;
    else high = middle - 1;
  }
  const slot = layout.tensors[low];
  return { slot, tensorIndex: low, local: flatIndex - slot.offset };
}

/** Row-major multi-index of a tensor element: shape [5,4], local 9 -> [2,1]. */
export function multiIndex(shape: readonly number[], local: number): number[] {
  const index = new Array<number>(shape.length);
  let rest = local;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    index[axis] = rest % shape[axis];
    rest = Math.floor(rest / shape[axis]);
  }
  return index;
}

export function localIndex(shape: readonly number[], index: readonly number[]): number {
  if (index.length !== shape.length) throw new RangeError(`index [${index}] does not fit shape [${shape}]`);
  let local = 0;
  for (let axis = 0; axis < shape.length; axis++) {
    if (index[axis] < 0 || index[axis] >= shape[axis]) {
      throw new RangeError(`index [${index}] does not fit shape [${shape}]`);
    }
    local = local * shape[axis] + index[axis];
  }
  return local;
}

/** Human name of a coordinate of θ, e.g. `W2[3,5]`. */
export function coordinateName(layout: Layout, flatIndex: number): string {
  const { slot, local } = coordinateAt(layout, flatIndex);
  return `${slot.name}[${multiIndex(slot.shape, local).join(",")}]`;
}
