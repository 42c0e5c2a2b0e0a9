import type { DuckDBConnection, DuckDBDataChunk } from '@duckdb/node-api';
import type { SplitSpec } from '../../pipelines/train-spec.js';
import type { FittedLabel, FittedTransform } from '../../pipelines/transform.js';
import { transformOutputNames } from '../../pipelines/transform.js';
import { sqlString } from '../../lib/duckdb.js';
import { chunkOfSql } from './chunk-hash.js';
import { streamChunks } from './load-matrix.js';
import { guardSnapshot } from './snapshot-guard.js';
import { isParquet } from './source.js';
import { splitSql } from './split.js';
import type { TrainingData } from './trainer.js';
import { transformQuery } from './transform-sql.js';

/**
 * The training split read one chunk at a time (docs/training.md, "Memory"): what the streamed epoch
 * (`streamed-loop.ts`) trains on when the dense matrix would not fit `trainer.memory`.
 */
export interface ChunkSource {
  /** Training rows in the split (every epoch's chunks add up to exactly these). */
  readonly rows: number;
  readonly width: number;
  /** The snapshot, as messages name it. */
  readonly name: string;
  /** Chunks per epoch. */
  readonly chunks: number;
  /**
   * Chunk `chunk` of epoch `epoch`: the training rows whose `chunkOf` is `chunk`, as training targets
   * (regression labels standardised, class weights applied), and their positions in row key order. The
   * arrays are valid until the next read; each read returns new views, so nothing cached on a view
   * (a linear trainer's row records) outlives it.
   */
  read(epoch: number, chunk: number): Promise<StreamedChunk>;
}

/** One chunk of a streamed epoch. */
export interface StreamedChunk {
  data: TrainingData;
  /** `data`'s row positions in ascending row key order: what the chunk's shuffle permutes. */
  byKey: Uint32Array;
}

/** The temp table listing the training split's row keys, made once when training opens the split. */
export const TRAIN_ROWS = 'sluice_train_rows';

/**
 * Where the training rows are read from and their stable key. A Parquet snapshot is read again (its
 * temp table was dropped, see `loadRelation`): a row's key is its number in the file, and its split is
 * computed by the same SQL. A text file keeps its temp table, whose row ids follow the file's order.
 */
function rowSource(
  view: string,
  path: string,
  split: SplitSpec,
): { from: string; key: string; train: string } {
  if (!isParquet(path)) return { from: view, key: 'rowid', train: `__split = 'train'` };
  return {
    from: `read_parquet(${sqlString(path)}, file_row_number = true)`,
    key: 'file_row_number',
    train: `${splitSql(split)} = 'train'`,
  };
}

export interface OpenChunksOptions {
  transform: FittedTransform;
  /** The prepared rows' temp table (`ROWS_VIEW`), read when the source is not Parquet. */
  view: string;
  split: SplitSpec;
  /** The snapshot read, for the checks and messages; `name` is how messages call it. */
  path: string;
  name: string;
  rows: number;
  chunks: number;
  /** Rows the buffers are first sized for. */
  chunkRows: number;
  /** Per-epoch chunk key (`deriveSeed(seed, SEED_PURPOSE.stream, epoch)`). */
  keyOf: (epoch: number) => number;
  perClass: number[] | undefined;
  /** After every DuckDB chunk (2,048 rows) read: to heartbeat while a chunk loads. */
  onRead?: () => void;
}

/**
 * Open the training split for streamed epochs: list its row keys once in {@link TRAIN_ROWS} (the
 * split's SQL, an md5 per row, runs this once, not once per chunk), then read each chunk as the rows of
 * the source whose key is in that chunk, through the transform SQL. Before each chunk the snapshot is
 * checked against what it was when training started (`guardSnapshot`), so training never mixes two files.
 */
export async function openChunks(db: DuckDBConnection, options: OpenChunksOptions): Promise<ChunkSource> {
  const { transform, path, name, rows, chunks, perClass, onRead } = options;
  const width = transformOutputNames(transform).length;
  const guard = await guardSnapshot(path, name);
  const source = rowSource(options.view, path, options.split);
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ${TRAIN_ROWS} AS SELECT ${source.key} AS __row FROM ${source.from} WHERE ${source.train}`,
  );
  const buffers = new ChunkBuffers(options.chunkRows, width, perClass !== undefined);
  const label: FittedLabel = transform.label;
  return {
    rows,
    width,
    name,
    chunks,
    async read(epoch, chunk) {
      const where = `epoch ${epoch}, chunk ${chunk + 1} of ${chunks}`;
      await guard.check(where);
      const inChunk = `SELECT __row FROM ${TRAIN_ROWS} WHERE ${chunkOfSql('__row', options.keyOf(epoch), chunks)} = ${chunk}`;
      const relation = `(SELECT *, ${source.key} AS __row FROM ${source.from} WHERE ${source.key} IN (${inChunk}))`;
      const sql = transformQuery(transform, relation, { extra: { __row: '__row' } });
      let n = 0;
      try {
        await streamChunks(db, sql, (part) => {
          n = buffers.append(part, n);
          onRead?.();
        });
      } catch (error) {
        await guard.check(where);
        throw error;
      }
      const { x, y, w, keys } = buffers;
      const data: TrainingData = { x: x.subarray(0, n * width), y: y.subarray(0, n), rows: n, width };
      if (w && perClass) {
        for (let i = 0; i < n; i++) w[i] = perClass[y[i] as number] as number;
        data.w = w.subarray(0, n);
      }
      if (label.scale) {
        const { mean, std } = label.scale;
        for (let i = 0; i < n; i++) y[i] = ((y[i] as number) - mean) / std;
      }
      return { data, byKey: keyOrder(keys, n) };
    },
  };
}

/** A chunk's rows as they arrive: inputs, label and row key; grown when a chunk outgrows them. */
class ChunkBuffers {
  x: Float32Array;
  y: Float32Array;
  w: Float32Array | undefined;
  keys: Float64Array;
  #capacity: number;

  constructor(
    capacity: number,
    readonly width: number,
    weighted: boolean,
  ) {
    this.#capacity = Math.max(1, capacity);
    this.x = new Float32Array(this.#capacity * width);
    this.y = new Float32Array(this.#capacity);
    this.w = weighted ? new Float32Array(this.#capacity) : undefined;
    this.keys = new Float64Array(this.#capacity);
  }

  /** Copy a DuckDB chunk (`f0 … f{d-1}`, `__label`, `__row`) in after row `at`; returns the rows now held. */
  append(part: DuckDBDataChunk, at: number): number {
    const m = part.rowCount;
    const width = this.width;
    if (at + m > this.#capacity) this.#grow(at + m);
    const { x, y, keys } = this;
    for (let j = 0; j < width; j++) {
      const vector = part.getColumnVector(j);
      for (let i = 0; i < m; i++) x[(at + i) * width + j] = (vector.getItem(i) as number | null) ?? NaN;
    }
    const labels = part.getColumnVector(width);
    for (let i = 0; i < m; i++) y[at + i] = (labels.getItem(i) as number | null) ?? NaN;
    const rowKeys = part.getColumnVector(width + 1);
    for (let i = 0; i < m; i++) keys[at + i] = Number(rowKeys.getItem(i));
    return at + m;
  }

  #grow(need: number): void {
    this.#capacity = Math.max(need, Math.ceil(this.#capacity * 1.25));
    const grown = <A extends Float32Array | Float64Array>(a: A, size: number): A => {
      const b = new (a.constructor as new (n: number) => A)(size);
      b.set(a);
      return b;
    };
    this.x = grown(this.x, this.#capacity * this.width);
    this.y = grown(this.y, this.#capacity);
    if (this.w) this.w = grown(this.w, this.#capacity);
    this.keys = grown(this.keys, this.#capacity);
  }
}

/**
 * Positions `0 … n-1` sorted by their row key. DuckDB's join hands a chunk's rows over in no fixed
 * order (threads interleave), so the chunk's shuffle is drawn over this order, which is the same on
 * every run: the shuffle, and so the model, do not depend on thread timing.
 */
export function keyOrder(keys: Float64Array, n: number): Uint32Array {
  const order = new Uint32Array(n);
  let sorted = true;
  let max = 0;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    const key = keys[i] as number;
    if (i > 0 && key <= (keys[i - 1] as number)) sorted = false;
    if (key > max) max = key;
  }
  if (sorted) return order;
  if (max < 2 ** 32 && n <= 2 ** 21) {
    // key · 2²¹ + position is exact in a double (< 2⁵³) and a typed array sorts it natively: several
    // times faster than a comparator over 500,000 rows.
    const packed = new Float64Array(n);
    for (let i = 0; i < n; i++) packed[i] = (keys[i] as number) * 2 ** 21 + i;
    packed.sort();
    for (let i = 0; i < n; i++) order[i] = (packed[i] as number) % 2 ** 21;
    return order;
  }
  return order.sort((a, b) => (keys[a] as number) - (keys[b] as number));
}
