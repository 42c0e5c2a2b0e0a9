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

const cache = new WeakMap<Float32Array, RowRecords>();

/**
 * The records of `data`, built once per matrix and cached by its identity (the split must not change
 * while it trains). An input is kept when it is not 0, so NaN is kept: exactly the entries a dense
 * loop that skips zeros uses.
 */
export function rowRecords(data: TrainingData): RowRecords {
  const cached = cache.get(data.x);
  if (cached && cached.rows === data.rows) return cached;
  const { x, y, w, rows, width } = data;
  let k = 0;
  for (let r = 0; r < rows; r++) {
    let count = 0;
    for (let j = r * width, end = j + width; j < end; j++) if (x[j] !== 0) count++;
    if (count > k) k = count;
  }
  const stride = RECORD.entries + 2 * k;
  const words = new Int32Array(rows * stride);
  const floats = new Float32Array(words.buffer);
  for (let r = 0; r < rows; r++) {
    const at = r * stride;
    floats[at + RECORD.y] = y[r] as number;
    floats[at + RECORD.w] = w ? (w[r] as number) : 1;
    let count = 0;
    for (let j = 0; j < width; j++) {
      const v = x[r * width + j] as number;
      if (v === 0) continue;
      words[at + RECORD.entries + count] = j;
      floats[at + RECORD.entries + k + count] = v;
      count++;
    }
    words[at + RECORD.count] = count;
  }
  const records = { rows, stride, k, words, floats };
  cache.set(data.x, records);
  return records;
}

/** Rows per bucket when laying an epoch out: a bucket's records fit in a core's cache. */
const BUCKET_SHIFT = 12;

/**
 * Copy the records into `into` in the epoch's visiting order (`into` record `i` = source record
 * `order[i]`). Reading rows in a random order costs a cache and TLB miss per row, which is most of a
 * shuffled epoch; here the source is read front to back and scattered into a few hundred
 * cache-sized buckets, then each bucket is put in order while it is still in cache.
 */
export function layOutEpoch(
  records: RowRecords,
  order: Uint32Array,
  into: Int32Array,
  scratch: { position: Uint32Array; staged: Int32Array; destination: Uint32Array },
): void {
  const { rows, stride, words } = records;
  const { position, staged, destination } = scratch;
  for (let i = 0; i < rows; i++) position[order[i] as number] = i;
  const fill = new Uint32Array((rows >>> BUCKET_SHIFT) + 1);
  for (let b = 0; b < fill.length; b++) fill[b] = b << BUCKET_SHIFT;
  for (let r = 0; r < rows; r++) {
    const i = position[r] as number;
    const at = fill[i >>> BUCKET_SHIFT] as number;
    fill[i >>> BUCKET_SHIFT] = at + 1;
    destination[at] = i;
    for (let q = 0, from = r * stride, to = at * stride; q < stride; q++)
      staged[to + q] = words[from + q] as number;
  }
  for (let at = 0; at < rows; at++) {
    const to = (destination[at] as number) * stride;
    for (let q = 0, from = at * stride; q < stride; q++) into[to + q] = staged[from + q] as number;
  }
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
