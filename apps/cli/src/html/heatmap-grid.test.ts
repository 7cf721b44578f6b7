import { describe, expect, it } from "vitest";
import { isDownsampled, MAX_HEATMAP_CELLS, maxPoolGrid } from "./heatmap-grid.js";

/** A [rows, columns] matrix of small errors with every entry of one column set to `bad`. */
function withBadColumn(rows: number, columns: number, column: number, bad: number): Float64Array {
  const errors = new Float64Array(rows * columns);
  for (let i = 0; i < errors.length; i++) errors[i] = 1e-12 * (1 + ((i * 7919) % 97) / 97);
  for (let row = 0; row < rows; row++) errors[row * columns + column] = bad;
  return errors;
}

describe("maxPoolGrid", () => {
  it("shrinks a 128×784 matrix to at most 160×160 cells and keeps a bad column as a full-height stripe", () => {
    const column = 403;
    const grid = maxPoolGrid(withBadColumn(128, 784, column, 0.25), 128, 784);
    expect(grid.rows).toBeLessThanOrEqual(MAX_HEATMAP_CELLS);
    expect(grid.columns).toBeLessThanOrEqual(MAX_HEATMAP_CELLS);
    expect({ rows: grid.rows, columns: grid.columns, rowBlock: grid.rowBlock, columnBlock: grid.columnBlock }).toEqual({
      rows: 128,
      columns: 157,
      rowBlock: 1,
      columnBlock: 5,
    });
    expect(isDownsampled(grid)).toBe(true);
    const stripe = Math.floor(column / grid.columnBlock);
    for (let row = 0; row < grid.rows; row++) {
      for (let cell = 0; cell < grid.columns; cell++) {
        const value = grid.values[row * grid.columns + cell];
        if (cell === stripe) expect(value).toBe(0.25);
        else expect(value).toBeLessThan(1e-11);
      }
    }
  });

  it("keeps a bad row when both dimensions are pooled, and takes the max over each block", () => {
    const rows = 500;
    const columns = 330;
    const errors = new Float64Array(rows * columns).fill(1e-10);
    for (let column = 0; column < columns; column++) errors[321 * columns + column] = 0.5;
    errors[3 * columns + 7] = 0.75; // one bad coordinate in block (0, 2)
    const grid = maxPoolGrid(errors, rows, columns);
    expect(grid.rowBlock).toBe(4);
    expect(grid.columnBlock).toBe(3);
    expect(grid.rows).toBe(125);
    expect(grid.columns).toBe(110);
    const stripe = Math.floor(321 / grid.rowBlock);
    for (let cell = 0; cell < grid.columns; cell++) expect(grid.values[stripe * grid.columns + cell]).toBe(0.5);
    expect(grid.values[0 * grid.columns + 2]).toBe(0.75);
    expect(grid.values[1 * grid.columns + 2]).toBe(1e-10);
  });

  it("ignores NaN (unchecked or kink) and leaves a block NaN only when all of it is", () => {
    const errors = new Float64Array([NaN, 0.2, NaN, NaN, 0.1, NaN, NaN, NaN]);
    const grid = maxPoolGrid(errors, 2, 4, 2);
    expect(grid.rowBlock).toBe(1);
    expect(grid.columnBlock).toBe(2);
    expect(Array.from(grid.values)).toEqual([0.2, NaN, 0.1, NaN]);
  });

  it("returns small matrices cell for cell, ragged last blocks included", () => {
    const errors = Float64Array.from({ length: 15 }, (_, i) => i);
    expect(Array.from(maxPoolGrid(errors, 3, 5).values)).toEqual(Array.from(errors));
    expect(isDownsampled(maxPoolGrid(errors, 3, 5))).toBe(false);
    const pooled = maxPoolGrid(errors, 3, 5, 2);
    expect([pooled.rows, pooled.columns]).toEqual([2, 2]);
    expect(Array.from(pooled.values)).toEqual([7, 9, 12, 14]);
  });

  it("refuses a shape that does not match the data", () => {
    expect(() => maxPoolGrid(new Float64Array(10), 3, 4)).toThrow(/needs 12 values, got 10/);
    expect(() => maxPoolGrid(new Float64Array(0), -1, 0)).toThrow(RangeError);
  });
});
