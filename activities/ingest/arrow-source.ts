import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import {
  BIGINT,
  BLOB,
  BOOLEAN,
  DATE,
  DOUBLE,
  DuckDBDataChunk,
  FLOAT,
  INTEGER,
  SMALLINT,
  TIMESTAMP,
  TIMESTAMP_MS,
  TIMESTAMP_NS,
  TIMESTAMP_S,
  TIMESTAMPTZ,
  TINYINT,
  UBIGINT,
  UINTEGER,
  USMALLINT,
  UTINYINT,
  VARCHAR,
  blobValue,
  dateValue,
  timestampMillisValue,
  timestampNanosValue,
  timestampSecondsValue,
  timestampTZValue,
  timestampValue,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBVector,
} from '@duckdb/node-api';
import {
  DataType,
  DateUnit,
  Precision,
  RecordBatchReader,
  TimeUnit,
  type Field,
  type Vector,
} from 'apache-arrow';
import { InvalidInputError, SluiceError } from '../../pipelines/errors.js';
import type { ArrowLayout } from './preflight.js';
import { ident } from './sql.js';

/** DuckDB's vector size: one appended chunk holds at most this many rows. */
const chunkRows = 2048;
const msPerDay = 86_400_000;

/** Copies rows `[0, n)` of one Arrow column slice into one DuckDB column vector. */
type Fill = (slice: Vector, out: DuckDBVector, n: number) => void;

interface ColumnPlan {
  name: string;
  type: DuckDBType;
  fill: Fill;
}

/**
 * Load an Arrow IPC source (file or stream layout) into the DuckDB table `table`, batch by batch,
 * through DuckDB's appender with typed column vectors: each Arrow column is copied from its typed
 * buffers into a DuckDB vector of up to 2048 rows, and whole chunks are appended. No row ever becomes
 * a JavaScript object, and only one record batch is held at a time (the file layout is read through a
 * file handle, batch by batch, instead of being buffered whole).
 *
 * @returns the number of rows loaded.
 * @throws InvalidInputError for a corrupt file or a column type with no faithful DuckDB equivalent.
 */
export async function loadArrow(
  db: DuckDBConnection,
  source: string,
  path: string,
  layout: ArrowLayout,
  table: string,
): Promise<number> {
  const handle = layout === 'file' ? await open(path, 'r') : undefined;
  try {
    const reader = handle
      ? await RecordBatchReader.from(handle)
      : await RecordBatchReader.from(createReadStream(path));
    await reader.open();
    const plans = reader.schema.fields.map((field) => planColumn(source, field));
    if (plans.length === 0) {
      throw new InvalidInputError(`source ${source} is an Arrow IPC file with no columns: nothing to ingest`);
    }
    await db.run(
      `CREATE TABLE ${table} (${plans.map((p) => `${ident(p.name)} ${p.type.toString()}`).join(', ')})`,
    );
    const appender = await db.createAppender(table);
    const chunk = DuckDBDataChunk.create(plans.map((p) => p.type));
    let rows = 0;
    try {
      for await (const batch of reader) {
        for (let offset = 0; offset < batch.numRows; offset += chunkRows) {
          const n = Math.min(chunkRows, batch.numRows - offset);
          chunk.reset();
          chunk.rowCount = n;
          plans.forEach((plan, c) => {
            const column = batch.getChildAt(c);
            if (!column)
              throw new InvalidInputError(`source ${source}: a record batch lacks column ${c + 1}`);
            const out = chunk.getColumnVector(c);
            plan.fill(column.slice(offset, offset + n), out, n);
            out.flush();
          });
          appender.appendDataChunk(chunk);
          rows += n;
        }
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    return rows;
  } catch (error) {
    if (error instanceof SluiceError) throw error;
    const reason = ((error as Error).message ?? String(error)).split('\n')[0];
    throw new InvalidInputError(
      `source ${source} is corrupt or unreadable Arrow IPC (${reason}): re-export or fetch the file again`,
      { cause: error, details: { source, layout } },
    );
  } finally {
    await handle?.close();
  }
}

/** How one Arrow field becomes a DuckDB column, or a clear refusal. */
function planColumn(source: string, field: Field): ColumnPlan {
  const { name } = field;
  const type: DataType = field.type as DataType;
  if (DataType.isInt(type)) {
    const byWidth = type.isSigned
      ? { 8: TINYINT, 16: SMALLINT, 32: INTEGER, 64: BIGINT }
      : { 8: UTINYINT, 16: USMALLINT, 32: UINTEGER, 64: UBIGINT };
    return { name, type: byWidth[type.bitWidth], fill: fillValues };
  }
  if (DataType.isFloat(type)) {
    if (type.precision === Precision.HALF) return { name, type: FLOAT, fill: fillGet };
    return { name, type: type.precision === Precision.SINGLE ? FLOAT : DOUBLE, fill: fillValues };
  }
  if (DataType.isBool(type)) return { name, type: BOOLEAN, fill: fillGet };
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isUtf8View(type)) {
    return { name, type: VARCHAR, fill: fillGet };
  }
  if (DataType.isDictionary(type)) {
    const values = type.dictionary as DataType;
    if (DataType.isUtf8(values) || DataType.isLargeUtf8(values))
      return { name, type: VARCHAR, fill: fillGet };
  }
  if (DataType.isBinary(type) || DataType.isLargeBinary(type)) {
    return { name, type: BLOB, fill: fillMapped((v) => blobValue(v as Uint8Array)) };
  }
  if (DataType.isDate(type)) {
    const toDays =
      type.unit === DateUnit.DAY
        ? (v: unknown) => Number(v)
        : (v: unknown) => Math.floor(Number(v) / msPerDay);
    return { name, type: DATE, fill: fillRaw((v) => dateValue(toDays(v))) };
  }
  if (DataType.isTimestamp(type)) {
    if (type.timezone) {
      const perMicro = {
        [TimeUnit.SECOND]: 1_000_000n,
        [TimeUnit.MILLISECOND]: 1000n,
        [TimeUnit.MICROSECOND]: 1n,
      };
      const toMicros =
        type.unit === TimeUnit.NANOSECOND
          ? (v: bigint) => v / 1000n
          : (v: bigint) => v * perMicro[type.unit as keyof typeof perMicro];
      return {
        name,
        type: TIMESTAMPTZ,
        fill: fillRaw((v) => timestampTZValue(toMicros(BigInt(v as bigint)))),
      };
    }
    switch (type.unit) {
      case TimeUnit.SECOND:
        return { name, type: TIMESTAMP_S, fill: fillRaw((v) => timestampSecondsValue(BigInt(v as bigint))) };
      case TimeUnit.MILLISECOND:
        return { name, type: TIMESTAMP_MS, fill: fillRaw((v) => timestampMillisValue(BigInt(v as bigint))) };
      case TimeUnit.MICROSECOND:
        return { name, type: TIMESTAMP, fill: fillRaw((v) => timestampValue(BigInt(v as bigint))) };
      case TimeUnit.NANOSECOND:
        return { name, type: TIMESTAMP_NS, fill: fillRaw((v) => timestampNanosValue(BigInt(v as bigint))) };
    }
  }
  throw new InvalidInputError(
    `source ${source} column "${name}" has Arrow type ${describeType(type)}, which ingest does not convert ` +
      '(supported: integers, floats, booleans, strings, dictionary strings, binary, dates, timestamps): ' +
      'cast it in the program that writes the file, or export Parquet instead',
    { details: { source, column: name, arrowType: describeType(type) } },
  );
}

/** Fixed-width numbers: straight from the typed buffer (already sliced to the window). */
function fillValues(slice: Vector, out: DuckDBVector, n: number): void {
  fillRaw((v) => v as DuckDBValue)(slice, out, n);
}

/** Typed-buffer values through a conversion (dates, timestamps). */
function fillRaw(convert: (value: unknown) => DuckDBValue): Fill {
  return (slice, out, n) => {
    const data = slice.data[0]!;
    const values = data.values as ArrayLike<unknown>;
    if (data.nullCount === 0) {
      for (let i = 0; i < n; i++) out.setItem(i, convert(values[i]));
    } else {
      for (let i = 0; i < n; i++) out.setItem(i, data.getValid(i) ? convert(values[i]) : null);
    }
  };
}

/** Types whose buffers are not plain values (strings, booleans, dictionaries, half floats). */
function fillGet(slice: Vector, out: DuckDBVector, n: number): void {
  for (let i = 0; i < n; i++) out.setItem(i, (slice.get(i) as DuckDBValue | undefined) ?? null);
}

function fillMapped(convert: (value: unknown) => DuckDBValue): Fill {
  return (slice, out, n) => {
    for (let i = 0; i < n; i++) {
      const value: unknown = slice.get(i);
      out.setItem(i, value === null || value === undefined ? null : convert(value));
    }
  };
}

/** Arrow's own rendering of a type (`List<Int32>`), which its typings do not declare. */
function describeType(type: DataType): string {
  return (type as unknown as { toString(): string }).toString();
}
