/** Most cells per side a heatmap draws; larger matrices are max-pooled down to this. */
export const MAX_HEATMAP_CELLS = 160;

/** A row-major matrix of per-coordinate errors, possibly max-pooled into blocks. */
export interface HeatmapGrid {
  /** cells down (output units, or blocks of them) */
  readonly rows: number;
  /** cells across (input units, or blocks of them) */
  readonly columns: number;
  /** source rows per cell (the last block may hold fewer) */
  readonly rowBlock: number;
  /** source columns per cell (the last block may hold fewer) */
  readonly columnBlock: number;
  readonly sourceRows: number;
  readonly sourceColumns: number;
  /** row-major [rows, columns]: the largest error in each block; NaN where no coordinate of the block was checked */
  readonly values: Float64Array;
}

/**
 * Shrinks a [rows, columns] error matrix to at most `maxCells` × `maxCells` by taking the
 * largest error of each block. The maximum, not the mean, so that one bad row or column
 * stays as bright after pooling as before: a stripe never fades into its neighbours.
 * NaN entries (coordinates that were not checked, or sat on a ReLU kink) are ignored; a
 * block with nothing but NaN stays NaN.
 */
export function maxPoolGrid(errors: ArrayLike<number>, rows: number, columns: number, maxCells = MAX_HEATMAP_CELLS): HeatmapGrid {
  if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows < 0 || columns < 0) {
    throw new RangeError(`bad heatmap shape [${rows}, ${columns}]`);
  }
  if (errors.length !== rows * columns) {
    throw new RangeError(`heatmap of shape [${rows}, ${columns}] needs ${rows * columns} values, got ${errors.length}`);
  }
  if (!Number.isInteger(maxCells) || maxCells < 1) throw new RangeError(`maxCells must be a positive integer, got ${maxCells}`);
  const rowBlock = Math.max(1, Math.ceil(rows / maxCells));
  const columnBlock = Math.max(1, Math.ceil(columns / maxCells));
  const pooledRows = Math.ceil(rows / rowBlock);
  const pooledColumns = Math.ceil(columns / columnBlock);
  const values = new Float64Array(pooledRows * pooledColumns).fill(NaN);
  for (let row = 0; row < rows; row++) {
    const base = Math.floor(row / rowBlock) * pooledColumns;
    const offset = row * columns;
    for (let column = 0; column < columns; column++) {
      const value = errors[offset + column];
      if (Number.isNaN(value)) continue;
      const cell = base + Math.floor(column / columnBlock);
      // NaN > x is false, so the first real value replaces the NaN fill through the second test.
      if (value > values[cell] || Number.isNaN(values[cell])) values[cell] = value;
    }
  }
  return { rows: pooledRows, columns: pooledColumns, rowBlock, columnBlock, sourceRows: rows, sourceColumns: columns, values };
}

/** True when the grid stands for blocks of coordinates rather than single ones. */
export const isDownsampled = (grid: HeatmapGrid): boolean => grid.rowBlock > 1 || grid.columnBlock > 1;
