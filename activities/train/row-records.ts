import type { TrainingData } from './trainer.js';

/**
 * A split laid out for a linear model: one fixed-size record per row,
 * `[count, y, w, index × K, value × K]` (32-bit words; y, w and values are float32 bits), holding the
 * row's non-zero inputs in ascending column order. One-hot inputs are mostly zeros, so K (the most
 * non-zeros of any row) is a few words where the dense row is `width`; a row is one short contiguous
 * run, and its label and weight travel with it.
 */
export interface RowRecords {
  rows: number;
  /** Words per record: 3 + 2K. */
  stride: number;
  /** Most non-zeros in a row. */
  k: number;
  words: Int32Array;
  floats: Float32Array;
}

export const RECORD = { count: 0, y: 1, w: 2, entries: 3 } as const;

const cache = new WeakMap<Float32Array, { order: Uint32Array; records: RowRecords }>();

/**
 * The records of `data` with record `i` holding row `order[i]` (the run's row shuffle, so a block of
 * the epoch order is a contiguous run of records), built once per matrix and order and cached by
 * their identity (the split must not change while it trains). An input is kept when it is not 0, so
 * NaN is kept: exactly the entries a dense loop that skips zeros uses.
 */
export function rowRecords(data: TrainingData, order: Uint32Array): RowRecords {
  const cached = cache.get(data.x);
  if (cached && cached.order === order && cached.records.rows === data.rows) return cached.records;
  const { x, y, w, rows, width } = data;
  const { count: COUNT, y: Y, w: WEIGHT, entries: ENTRIES } = RECORD;
  // Two front-to-back passes over the dense rows: the first finds K, the second writes each row's
  // entries straight into its record (`slot[r]`, where the run's shuffle puts row r). Reading the
  // dense rows in storage order and scattering a few words a row is cheaper than any random read.
  let k = 0;
  for (let r = 0, base = 0; r < rows; r++, base += width) {
    let count = 0;
    for (let j = 0; j < width; j++) count += x[base + j] !== 0 ? 1 : 0;
    if (count > k) k = count;
  }
  const slot = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) slot[order[i] as number] = i;
  const stride = ENTRIES + 2 * k;
  const words = new Int32Array(rows * stride);
  const floats = new Float32Array(words.buffer);
  for (let r = 0, base = 0; r < rows; r++, base += width) {
    const at = (slot[r] as number) * stride;
    const first = at + ENTRIES;
    let count = 0;
    for (let j = 0; j < width; j++) {
      const v = x[base + j] as number;
      if (v === 0) continue;
      words[first + count] = j;
      floats[first + k + count] = v;
      count++;
    }
    words[at + COUNT] = count;
    floats[at + Y] = y[r] as number;
    floats[at + WEIGHT] = w ? (w[r] as number) : 1;
  }
  const records = { rows, stride, k, words, floats };
  cache.set(data.x, { order, records });
  return records;
}

/** The non-zeros of a row-major matrix, row by row (CSR): what `logits` multiplies instead of every input. */
export interface SparseRows {
  rows: number;
  offsets: Uint32Array;
  index: Int32Array;
  value: Float32Array;
}

const sparseCache = new WeakMap<Float32Array, SparseRows>();

/**
 * The non-zeros of `x` (`rows × width`), built once per matrix and cached by its identity, like
 * `rowRecords`: the validation split is scored every epoch, and a one-hot row has a handful of
 * non-zeros among its `width` inputs. NaN is kept (it is not 0), as in `rowRecords`.
 */
export function sparseRows(x: Float32Array, rows: number, width: number): SparseRows {
  const cached = sparseCache.get(x);
  if (cached && cached.rows === rows && cached.offsets.length === rows + 1) return cached;
  const end = rows * width;
  let nnz = 0;
  for (let i = 0; i < end; i++) if (x[i] !== 0) nnz++;
  const offsets = new Uint32Array(rows + 1);
  const index = new Int32Array(nnz);
  const value = new Float32Array(nnz);
  let at = 0;
  for (let r = 0, base = 0; r < rows; r++, base += width) {
    offsets[r] = at;
    for (let j = 0; j < width; j++) {
      const v = x[base + j] as number;
      if (v === 0) continue;
      index[at] = j;
      value[at] = v;
      at++;
    }
  }
  offsets[rows] = at;
  const sparse = { rows, offsets, index, value };
  sparseCache.set(x, sparse);
  return sparse;
}
