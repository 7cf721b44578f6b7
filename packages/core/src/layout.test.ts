import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  coordinateAt,
  coordinateName,
  createLayout,
  elementCount,
  flatten,
  localIndex,
  multiIndex,
  unflatten,
  type TensorShape,
} from "./layout.js";

/** Random lists of uniquely named tensors of rank 0–3 (dimensions 1–4). */
const shapesArbitrary = fc
  .array(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 3 }), { minLength: 1, maxLength: 6 })
  .map((shapes): TensorShape[] => shapes.map((shape, index) => ({ name: `T${index}`, shape })));

/** A layout plus, for every tensor, values of the right length. */
const layoutWithValues = shapesArbitrary.chain((shapes) =>
  fc.tuple(
    fc.constant(shapes),
    fc.tuple(
      ...shapes.map(({ shape }) => {
        const size = elementCount(shape);
        return fc.array(fc.double({ noNaN: true }), { minLength: size, maxLength: size });
      }),
    ),
  ),
);

describe("createLayout", () => {
  it("places tensors one after another in the given order", () => {
    const layout = createLayout([
      { name: "W1", shape: [3, 2] },
      { name: "b1", shape: [3] },
      { name: "W2", shape: [1, 3] },
      { name: "s", shape: [] },
    ]);
    expect(layout.total).toBe(6 + 3 + 3 + 1);
    expect(layout.tensors.map((slot) => [slot.name, slot.offset, slot.size])).toEqual([
      ["W1", 0, 6],
      ["b1", 6, 3],
      ["W2", 9, 3],
      ["s", 12, 1],
    ]);
  });

  it("copies the shapes it is given", () => {
    const shape = [2, 2];
    const layout = createLayout([{ name: "W", shape }]);
    shape[0] = 5;
    expect(layout.tensors[0].shape).toEqual([2, 2]);
  });

  it("rejects a duplicate name, naming it", () => {
    expect(() =>
      createLayout([
        { name: "W1", shape: [2] },
        { name: "b1", shape: [2] },
        { name: "W1", shape: [3] },
      ]),
    ).toThrow(/"W1" appears twice/);
  });

  it("offsets are the running sums of the sizes (property)", () => {
    fc.assert(
      fc.property(shapesArbitrary, (shapes) => {
        const layout = createLayout(shapes);
        let offset = 0;
        layout.tensors.forEach((slot, index) => {
          expect(slot.name).toBe(shapes[index].name);
          expect(slot.offset).toBe(offset);
          expect(slot.size).toBe(shapes[index].shape.reduce((a, b) => a * b, 1));
          offset += slot.size;
        });
        expect(layout.total).toBe(offset);
      }),
      { numRuns: 100 },
    );
  });

});

describe("flatten / unflatten", () => {
  it("round-trips random tensors (property)", () => {
    fc.assert(
      fc.property(layoutWithValues, ([shapes, values]) => {
        const layout = createLayout(shapes);
        const named = new Map(shapes.map((shape, index) => [shape.name, values[index]]));
        const theta = flatten(layout, named);
        expect(theta.length).toBe(layout.total);
        layout.tensors.forEach((slot, index) => {
          expect(Array.from(theta.subarray(slot.offset, slot.offset + slot.size))).toEqual(values[index]);
        });
        const back = unflatten(layout, theta);
        expect([...back.keys()]).toEqual(shapes.map((shape) => shape.name));
        shapes.forEach((shape, index) => expect(Array.from(back.get(shape.name)!)).toEqual(values[index]));
        expect(flatten(layout, back)).toEqual(theta);
      }),
      { numRuns: 100 },
    );
  });

  it("unflatten returns copies, independent of θ", () => {
    const layout = createLayout([
      { name: "a", shape: [2] },
      { name: "b", shape: [1] },
    ]);
    const theta = Float64Array.of(1, 2, 3);
    const parts = unflatten(layout, theta);
    theta[0] = 99;
    parts.get("b")![0] = -1;
    expect(Array.from(parts.get("a")!)).toEqual([1, 2]);
    expect(theta[2]).toBe(3);
  });

  it("flatten rejects a missing tensor and a wrong element count", () => {
    const layout = createLayout([
      { name: "W", shape: [2, 2] },
      { name: "b", shape: [2] },
    ]);
    expect(() => flatten(layout, new Map([["W", [1, 2, 3, 4]]]))).toThrow(/"b" is missing/);
    expect(() =>
      flatten(
        layout,
        new Map([
          ["W", [1, 2, 3]],
          ["b", [1, 2]],
        ]),
      ),
    ).toThrow(/"W" has 3 elements, expected 4/);
  });

  it("unflatten rejects θ of the wrong length", () => {
    const layout = createLayout([{ name: "W", shape: [2, 2] }]);
    expect(() => unflatten(layout, new Float64Array(5))).toThrow(/5 elements, expected 4/);
  });
});

describe("coordinates", () => {
  it("multiIndex and localIndex follow row-major order", () => {
    expect(multiIndex([5, 4], 9)).toEqual([2, 1]);
    expect(localIndex([5, 4], [2, 1])).toBe(9);
    expect(multiIndex([2, 3, 4], 23)).toEqual([1, 2, 3]);
    expect(multiIndex([2, 3, 4], 13)).toEqual([1, 0, 1]);
    expect(localIndex([2, 3, 4], [1, 0, 1])).toBe(13);
    expect(multiIndex([], 0)).toEqual([]);
    expect(localIndex([], [])).toBe(0);
  });

  it("localIndex rejects indices that do not fit the shape", () => {
    expect(() => localIndex([5, 4], [5, 0])).toThrow(RangeError);
    expect(() => localIndex([5, 4], [0, 4])).toThrow(RangeError);
    expect(() => localIndex([5, 4], [-1, 0])).toThrow(RangeError);
    expect(() => localIndex([5, 4], [1])).toThrow(RangeError);
  });

  it("coordinateName writes the tensor and its multi-index", () => {
    const layout = createLayout([
      { name: "W1", shape: [4, 3] },
      { name: "b1", shape: [4] },
      { name: "W2", shape: [6, 4] },
    ]);
    expect(coordinateName(layout, 0)).toBe("W1[0,0]");
    expect(coordinateName(layout, 11)).toBe("W1[3,2]");
    expect(coordinateName(layout, 12)).toBe("b1[0]");
    expect(coordinateName(layout, 15)).toBe("b1[3]");
    expect(coordinateName(layout, 16 + 3 * 4 + 2)).toBe("W2[3,2]");
  });

  it("coordinateAt, multiIndex, localIndex and coordinateName agree for every flat index (property)", () => {
    fc.assert(
      fc.property(shapesArbitrary, (shapes) => {
        const layout = createLayout(shapes);
        const names = new Set<string>();
        for (let flat = 0; flat < layout.total; flat++) {
          const { slot, tensorIndex, local } = coordinateAt(layout, flat);
          expect(layout.tensors[tensorIndex]).toBe(slot);
          expect(local).toBeGreaterThanOrEqual(0);
          expect(local).toBeLessThan(slot.size);
          expect(slot.offset + local).toBe(flat);
          const index = multiIndex(slot.shape, local);
          index.forEach((value, axis) => {
            expect(Number.isInteger(value)).toBe(true);
            expect(value).toBeGreaterThanOrEqual(0);
            expect(value).toBeLessThan(slot.shape[axis]);
          });
          expect(localIndex(slot.shape, index)).toBe(local);
          const name = coordinateName(layout, flat);
          expect(name).toBe(`${slot.name}[${index.join(",")}]`);
          names.add(name);
        }
        expect(names.size).toBe(layout.total);
      }),
      { numRuns: 100 },
    );
  });

  it("coordinateAt skips empty tensors", () => {
    const layout = createLayout([
      { name: "a", shape: [2] },
      { name: "empty", shape: [0] },
      { name: "b", shape: [2] },
      { name: "tail", shape: [3, 0] },
    ]);
    expect(layout.total).toBe(4);
    expect(coordinateAt(layout, 1).slot.name).toBe("a");
    expect(coordinateAt(layout, 2)).toMatchObject({ tensorIndex: 2, local: 0 });
    expect(coordinateAt(layout, 3)).toMatchObject({ tensorIndex: 2, local: 1 });
  });

  it("coordinateAt rejects indices outside θ", () => {
    const layout = createLayout([
      { name: "W", shape: [2, 2] },
      { name: "b", shape: [2] },
    ]);
    for (const bad of [-1, 6, 7, 1.5, Number.NaN, Infinity]) {
      expect(() => coordinateAt(layout, bad)).toThrow(RangeError);
      expect(() => coordinateName(layout, bad)).toThrow(RangeError);
    }
    expect(() => coordinateAt(layout, 6)).toThrow(/0\.\.5/);
    expect(coordinateAt(layout, 5).slot.name).toBe("b");
  });
});
