import { stat } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DataValidationError, DependencyUnavailableError } from '../../pipelines/errors.js';
import type { SplitSpec } from '../../pipelines/train-spec.js';
import type { FittedLabel, FittedTransform } from '../../pipelines/transform.js';
import { transformOutputNames } from '../../pipelines/transform.js';
import { sqlString } from '../../lib/duckdb.js';
import { streamChunks } from './load-matrix.js';
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
   * Chunk `chunk` of epoch `epoch`: the training rows whose {@link chunkOf} is `chunk`, in the file's
   * order, as training targets (regression labels standardised, class weights applied). The arrays are
   * valid until the next read; each read returns new views, so nothing cached on a view outlives it.
   */
  read(epoch: number, chunk: number): Promise<TrainingData>;
}

/** The relation the streamed reads query: the source's rows, their split, and `__row`, a stable row key. */
export function streamedRelation(view: string, path: string, split: SplitSpec): string {
  // A Parquet snapshot is read again (its temp table was dropped, see `loadRelation`): the row's number
  // in the file is its key. A text file keeps its temp table, whose row ids are in the file's order.
  if (!isParquet(path)) return `(SELECT *, rowid AS __row FROM ${view})`;
  return `(SELECT *, ${splitSql(split)} AS __split, file_row_number AS __row FROM read_parquet(${sqlString(path)}, file_row_number = true))`;
}

/**
 * Which chunk row `row` falls in, for an epoch whose key is `key`: a 32-bit integer hash of the row's
 * key (lowbias32, written in DuckDB's unsigned integer arithmetic by {@link chunkOfSql}), modulo
 * `chunks`. A fresh key every epoch deals the rows into fresh chunks: each chunk is a uniformly random
 * share of the split, and no two rows stay together from epoch to epoch.
 */
export function chunkOf(row: number, key: number, chunks: number): number {
  let x = (row ^ key) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x % chunks;
}

/** {@link chunkOf} in SQL, over an integer row key expression (UBIGINT: products stay below 2⁶⁴). */
export function chunkOfSql(row: string, key: number, chunks: number): string {
  const M = '4294967295::UBIGINT';
  const shift = (x: string, by: number) => `xor(${x}, ${x} >> ${by})`;
  const times = (x: string, c: number) => `((${x} * ${c}::UBIGINT) & ${M})`;
  // Each step names its input once through a subquery-free nesting of short expressions.
  const x0 = `(xor((${row})::UBIGINT & ${M}, ${key >>> 0}::UBIGINT))`;
  const x1 = times(shift(x0, 16), 0x7feb352d);
  const x2 = times(shift(x1, 15), 0x846ca68b);
  return `(${shift(x2, 16)} % ${chunks})`;
}

export interface OpenChunksOptions {
  transform: FittedTransform;
  /** {@link streamedRelation}. */
  relation: string;
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
 * Open the training split for streamed epochs. Before each chunk the snapshot is checked against what
 * it was when training started (size and modification time): a snapshot that changes or disappears
 * mid-training fails the step with its name, never training on a mix of two files.
 */
export async function openChunks(db: DuckDBConnection, options: OpenChunksOptions): Promise<ChunkSource> {
  const { transform, relation, path, name, rows, chunks, perClass, onRead } = options;
  const width = transformOutputNames(transform).length;
  const before = await stat(path);
  let capacity = Math.max(1, options.chunkRows);
  let x = new Float32Array(capacity * width);
  let y = new Float32Array(capacity);
  let w = perClass ? new Float32Array(capacity) : undefined;
  const grow = (need: number) => {
    capacity = Math.max(need, Math.ceil(capacity * 1.25));
    const grown = (a: Float32Array, size: number) => {
      const b = new Float32Array(size);
      b.set(a);
      return b;
    };
    x = grown(x, capacity * width);
    y = grown(y, capacity);
    if (w) w = grown(w, capacity);
  };
  const where = (epoch: number, chunk: number) => `Epoch ${epoch}, chunk ${chunk + 1} of ${chunks}`;
  const check = async (epoch: number, chunk: number) => {
    const now = await stat(path).catch(() => undefined);
    if (now === undefined) {
      throw new DependencyUnavailableError(
        `the snapshot ${name} disappeared while training streamed it (${where(epoch, chunk)}): ` +
          'the artifact store lost the file mid-step; a retried attempt opens it again and resumes from its last epoch checkpoint',
        { details: { path, epoch, chunk } },
      );
    }
    if (now.size !== before.size || now.mtimeMs !== before.mtimeMs) {
      throw new DataValidationError(
        `the snapshot ${name} changed while training streamed it (${where(epoch, chunk)}: ${before.size} bytes, now ${now.size}): ` +
          'a snapshot must not be written while a step reads it; rerun the pipeline so training reads one version of the data',
        { details: { path, epoch, chunk, bytes: { before: before.size, now: now.size } } },
      );
    }
  };
  const label: FittedLabel = transform.label;
  return {
    rows,
    width,
    name,
    chunks,
    async read(epoch, chunk) {
      await check(epoch, chunk);
      const sql = transformQuery(transform, relation, {
        where: `__split = 'train' AND ${chunkOfSql('__row', options.keyOf(epoch), chunks)} = ${chunk}`,
        extra: { __row: '__row' },
      });
      let n = 0;
      let last = -1;
      try {
        await streamChunks(db, sql, (part) => {
          const m = part.rowCount;
          if (n + m > capacity) grow(n + m);
          for (let j = 0; j < width; j++) {
            const vector = part.getColumnVector(j);
            for (let i = 0; i < m; i++) x[(n + i) * width + j] = (vector.getItem(i) as number | null) ?? NaN;
          }
          const labels = part.getColumnVector(width);
          for (let i = 0; i < m; i++) y[n + i] = (labels.getItem(i) as number | null) ?? NaN;
          const keys = part.getColumnVector(width + 1);
          for (let i = 0; i < m; i++) {
            const key = Number(keys.getItem(i));
            // The within-chunk shuffle assumes the file's order; DuckDB keeps it, and this checks it does.
            if (key <= last)
              throw new Error(`rows of ${name} came out of file order (row ${key} after ${last})`);
            last = key;
          }
          n += m;
          onRead?.();
        });
      } catch (error) {
        await check(epoch, chunk);
        throw error;
      }
      const data: TrainingData = { x: x.subarray(0, n * width), y: y.subarray(0, n), rows: n, width };
      if (w && perClass) {
        for (let i = 0; i < n; i++) w[i] = perClass[y[i] as number] as number;
        data.w = w.subarray(0, n);
      }
      if (label.scale) {
        const { mean, std } = label.scale;
        for (let i = 0; i < n; i++) y[i] = ((y[i] as number) - mean) / std;
      }
      return data;
    },
  };
}
