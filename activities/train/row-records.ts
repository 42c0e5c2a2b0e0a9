import type { TrainingData } from './trainer.js';

/**
 * A split laid out for a linear model: one fixed-size record per row,
 * `[valued, ones, y, w, index × K, value × KV]` (32-bit words; y, w and values are float32 bits),
 * holding the row's non-zero inputs in ascending column order. One-hot inputs are mostly zeros, so K
 * (the most non-zeros of any row) is a few words where the dense row is `width`; a row is one short
 * contiguous run, and its label and weight travel with it.
 *
 * The columns from `onesFrom` on hold nothing but 0 and 1 (one-hot groups, which the transform lays
 * out after the numeric inputs): a row's entries there are kept as indices alone (`ones` of them,
 * after its `valued` entries), since multiplying by 1 changes nothing. Only the entries before
 * `onesFrom` carry a value, so KV (the most of those in any row) is what a record spends on values.
 * The split point is a column, not a property of each entry, so the entries stay in column order and
 * a kernel sums them exactly as the dense loop does.
 */
export interface RowRecords {
  rows: number;
  /** Words per record: 4 + K + KV. */
  stride: number;
  /** Most non-zeros in a row. */
  k: number;
  /** Most non-zeros before `onesFrom` in a row. */
  kv: number;
  /** The first column of the all-0-and-1 suffix (`width` when the last column holds another value). */
  onesFrom: number;
  words: Int32Array;
  floats: Float32Array;
}

export const RECORD = { valued: 0, ones: 1, y: 2, w: 3, entries: 4 } as const;

const cache = new WeakMap<Float32Array, { order: Uint32Array; records: RowRecords }>();

/**
 * The records of `data` with record `i` holding row `order[i]` (the run's row shuffle, so a block of
 * the epoch order is a contiguous run of records), built once per matrix and order and cached by
 * their identity (the split must not change while it trains), unless `allocate` gives the words (a
 * WebAssembly memory, whose owner keeps them). An input is kept when it is not 0, so
 * NaN is kept (and is not 1): exactly the entries a dense loop that skips zeros uses.
 */
export function rowRecords(
  data: TrainingData,
  order: Uint32Array,
  allocate?: (words: number) => Int32Array,
): RowRecords {
  const cached = allocate ? undefined : cache.get(data.x);
  if (cached && cached.order === order && cached.records.rows === data.rows) return cached.records;
  const { x, y, w, rows, width } = data;
  const { valued: VALUED, ones: ONES, y: Y, w: WEIGHT, entries: ENTRIES } = RECORD;
  const onesFrom = onesSuffix(x, rows, width);
  // Two front-to-back passes over the dense rows: the first finds K and KV, the second writes each
  // row's entries straight into its record (`slot[r]`, where the run's shuffle puts row r). Reading
  // the dense rows in storage order and scattering a few words a row is cheaper than any random read.
  let k = 0;
  let kv = 0;
  for (let r = 0, base = 0; r < rows; r++, base += width) {
    let valued = 0;
    for (let j = 0; j < onesFrom; j++) valued += x[base + j] !== 0 ? 1 : 0;
    let count = valued;
    for (let j = onesFrom; j < width; j++) count += x[base + j] !== 0 ? 1 : 0;
    if (count > k) k = count;
    if (valued > kv) kv = valued;
  }
  const slot = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) slot[order[i] as number] = i;
  const stride = ENTRIES + k + kv;
  const words = allocate ? allocate(rows * stride) : new Int32Array(rows * stride);
  const floats = new Float32Array(words.buffer, words.byteOffset, words.length);
  for (let r = 0, base = 0; r < rows; r++, base += width) {
    const at = (slot[r] as number) * stride;
    const first = at + ENTRIES;
    let count = 0;
    for (let j = 0; j < onesFrom; j++) {
      const v = x[base + j] as number;
      if (v === 0) continue;
      words[first + count] = j;
      floats[first + k + count] = v;
      count++;
    }
    const valued = count;
    for (let j = onesFrom; j < width; j++) {
      if (x[base + j] === 0) continue;
      words[first + count] = j;
      count++;
    }
    words[at + VALUED] = valued;
    words[at + ONES] = count - valued;
    floats[at + Y] = y[r] as number;
    floats[at + WEIGHT] = w ? (w[r] as number) : 1;
  }
  const records = { rows, stride, k, kv, onesFrom, words, floats };
  if (!allocate) cache.set(data.x, { order, records });
  return records;
}

/** The first column from which every column holds only 0 and 1 (`width` if the last holds another value). */
function onesSuffix(x: Float32Array, rows: number, width: number): number {
  // Row by row (storage order), each row read from the right down to the last valued column found so far.
  let last = -1;
  for (let base = 0, end = rows * width; base < end; base += width) {
    for (let j = width - 1; j > last; j--) {
      const v = x[base + j] as number;
      if (v !== 0 && v !== 1) {
        last = j;
        break;
      }
    }
  }
  return last + 1;
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
