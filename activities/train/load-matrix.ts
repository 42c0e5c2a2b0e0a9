import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { DuckDBConnection, DuckDBDataChunk } from '@duckdb/node-api';
import type { FittedTransform } from '../../pipelines/transform.js';
import { transformOutputNames } from '../../pipelines/transform.js';
import type { SplitSpec } from '../../pipelines/train-spec.js';
import { transformQuery } from './transform-sql.js';
import { isParquet, sourceRelation } from './source.js';
import { splitSql } from './split.js';

/** A split in memory as typed arrays: `x` row-major `rows × width`, `y` one label per row. */
export interface Matrix {
  x: Float32Array;
  y: Float32Array;
  rows: number;
  width: number;
  /** Extra columns asked for (slices, groups), as text; missing values are null. */
  extra: Record<string, (string | null)[]>;
}

export interface LoadOptions {
  /** SQL condition on the source's rows, e.g. `__split = 'train'`. */
  where?: string;
  /** Extra columns to carry along, name → SQL. */
  extra?: Record<string, string>;
  limit?: number;
  /**
   * The rows the query gives, when already counted (`prepareDataset` counts each split exactly as
   * the loaders filter): saves a counting pass, a full re-read when the rows come from a file.
   */
  rows?: number;
  /** Called after every chunk with rows loaded so far, e.g. to heartbeat. */
  onChunk?: (rows: number) => void;
}

/**
 * Read a split through the batch transform into typed arrays, one DuckDB chunk (2,048 rows) at a time:
 * no row objects, no intermediate JS arrays, and never one giant tensor (the trainers slice batches
 * out of these arrays). Rows are counted first so the arrays are allocated exactly once.
 */
export async function loadMatrix(
  db: DuckDBConnection,
  transform: FittedTransform,
  relation: string,
  options: LoadOptions = {},
): Promise<Matrix> {
  const width = transformOutputNames(transform).length;
  const queryOptions = {
    ...(options.where === undefined ? {} : { where: options.where }),
    ...(options.extra === undefined ? {} : { extra: options.extra }),
    ...(options.limit === undefined ? {} : { limit: options.limit }),
  };
  const sql = transformQuery(transform, relation, queryOptions);
  const total = options.rows ?? (await countRows(db, sql));
  const x = new Float32Array(total * width);
  const y = new Float32Array(total);
  const extraNames = Object.keys(options.extra ?? {});
  const extra: Record<string, (string | null)[]> = Object.fromEntries(
    extraNames.map((name) => [name, new Array<string | null>(total)]),
  );
  let row = 0;
  await streamChunks(db, sql, (chunk) => {
    const n = Math.min(chunk.rowCount, total - row);
    for (let j = 0; j < width; j++) {
      const vector = chunk.getColumnVector(j);
      for (let i = 0; i < n; i++) x[(row + i) * width + j] = (vector.getItem(i) as number | null) ?? NaN;
    }
    const labels = chunk.getColumnVector(width);
    for (let i = 0; i < n; i++) y[row + i] = (labels.getItem(i) as number | null) ?? NaN;
    extraNames.forEach((name, k) => {
      const vector = chunk.getColumnVector(width + 1 + k);
      const column = extra[name] as (string | null)[];
      for (let i = 0; i < n; i++) {
        const value = vector.getItem(i);
        column[row + i] = value === null ? null : String(value);
      }
    });
    row += n;
    options.onChunk?.(row);
    if (n < chunk.rowCount) throw new Error(`${relation} gave more rows than the ${total} counted for it`);
  });
  if (row < total) throw new Error(`${relation} gave ${row} rows where ${total} were counted`);
  return { x, y, rows: row, width, extra };
}

async function countRows(db: DuckDBConnection, sql: string): Promise<number> {
  const counted = await db.runAndReadAll(`SELECT count(*)::DOUBLE FROM (${sql})`);
  return Number(counted.getColumnsJS()[0]?.[0] ?? 0);
}

/** Chunks between two collections of spent chunks: ~400 KiB each at 50 FLOAT columns. */
const CHUNKS_PER_COLLECTION = 32;

/**
 * Run `sql` and hand each result chunk (up to 2,048 rows) to `use`, which must copy out what it keeps.
 * A chunk's native buffers are freed only when V8 collects its JS wrapper, and V8 does not count them:
 * streaming 2.4M flights × 53 FLOAT columns left ~590 MiB of spent chunks alive until the load ended
 * (peak RSS 1,033 MiB; 457 MiB with a young-generation collection every few dozen chunks). So every
 * {@link CHUNKS_PER_COLLECTION} chunks this asks for a minor collection, which costs well under a
 * millisecond on a heap this small.
 */
export async function streamChunks(
  db: DuckDBConnection,
  sql: string,
  use: (chunk: DuckDBDataChunk) => void,
): Promise<void> {
  const result = await db.stream(sql);
  for (let n = 1; ; n++) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    use(chunk);
    if (n % CHUNKS_PER_COLLECTION === 0) collectYoung();
  }
}

let gc: ((options: { type: 'minor' }) => void) | undefined;

/** A young-generation collection, through the same `gc` that `--expose-gc` gives (as Jest gets it). */
function collectYoung(): void {
  if (gc === undefined) {
    const exposed = (globalThis as { gc?: typeof gc }).gc;
    if (exposed) gc = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as typeof gc;
      setFlagsFromString('--no-expose-gc');
    }
  }
  gc?.({ type: 'minor' });
}

/**
 * Where the loaders read the prepared rows from once the transform is fitted. A Parquet file (a
 * pipeline's snapshot) is read again, its split computed again by the same SQL, and the temp table
 * `view` dropped first: on 3M flights the table held ~370 MiB in DuckDB while the matrices filled,
 * and a second streamed read of the file costs a few hundred MiB less. Row order is the file's in
 * both cases, so the matrices are the same. A text file (CSV, JSON) keeps its table: re-parsing costs more.
 */
export async function loadRelation(
  db: DuckDBConnection,
  view: string,
  path: string,
  split: SplitSpec,
): Promise<string> {
  if (!isParquet(path)) return view;
  await db.run(`DROP TABLE ${view}`);
  return `(SELECT *, ${splitSql(split)} AS __split FROM ${sourceRelation(path)})`;
}

/**
 * The train and validation matrices of the prepared rows in `view` (its `__split` column), and the
 * DuckDB version that read them (recorded in the model's lineage); `onChunk` after every chunk read.
 */
export async function loadSplits(
  db: DuckDBConnection,
  transform: FittedTransform,
  view: string,
  onChunk: () => void,
  rows?: { train: number; validation: number },
): Promise<{ train: Matrix; validation: Matrix; duckdb: string }> {
  const split = (name: 'train' | 'validation') => ({
    where: `__split = '${name}'`,
    onChunk,
    ...(rows === undefined ? {} : { rows: rows[name] }),
  });
  const train = await loadMatrix(db, transform, view, split('train'));
  const validation = await loadMatrix(db, transform, view, split('validation'));
  const version = await db.runAndReadAll('SELECT version()');
  return { train, validation, duckdb: version.getColumnsJS()[0]?.[0] as string };
}
