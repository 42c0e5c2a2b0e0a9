import type { DuckDBConnection } from '@duckdb/node-api';
import { DataValidationError, InvalidInputError, SluiceError } from '../../pipelines/errors.js';
import type { SourceFormat } from './format.js';
import { firstLongRecord } from './csv-shape.js';
import { locateJsonFault } from './json-locate.js';
import { cellText, ident } from './sql.js';

/** What a read failure is explained against. */
export interface ReadContext {
  /** The source as the user wrote it (messages name it that way). */
  source: string;
  /** The resolved file. */
  path: string;
  format: SourceFormat;
  /** Column types the user declared (`types`), which turn a bad value into a contract breach. */
  types: Readonly<Record<string, string>>;
  /** The relation the declared types are cast from (for locating a bad value outside CSV). */
  rawRelation: string;
  /** Whether a SQL transform ran over the source (its own run-time errors are named as such). */
  transform?: boolean;
}

/** Failures of the machine rather than the data: left as they are so Temporal retries them. */
const environmental = /Out of Memory|No space left on device|Disk quota exceeded|Too many open files/i;

/**
 * Turn DuckDB's failure to read a source into a typed, non-retryable error that names the file, the
 * line (CSV, NDJSON), record or column, and the fix. DuckDB's messages are parsed for their facts
 * (line, expected vs found columns, the value that did not convert); where DuckDB is vague (JSON
 * positions, a bad value in Parquet or Arrow), a second, targeted look at the file finds the spot.
 * Out-of-memory and full disks stay retryable: the data is not at fault.
 */
export async function explainReadError(
  error: unknown,
  context: ReadContext,
  db: DuckDBConnection,
): Promise<unknown> {
  if (error instanceof SluiceError || !(error instanceof Error)) return error;
  const message = error.message;
  if (environmental.test(message)) return error;
  const { source, format } = context;
  const first = firstLine(message);
  const details = { source, format, duckdb: first };

  const tooLong = /Maximum line size of (\d+) bytes exceeded/.exec(message);
  if (tooLong && (format === 'csv' || format === 'tsv')) {
    const limit = Number(tooLong[1]);
    const record = await firstLongRecord(context.path, '"', limit);
    const where = record ? `line ${record.line} starts a row of ${record.bytes} bytes` : 'a row is longer';
    return new InvalidInputError(
      `source ${source} ${where}, over the ${limit}-byte limit for one row: a field that long is not ` +
        'tabular data; keep large text or blobs out of the file (store a path or a hash) or fix the quoting that merged rows',
      { cause: error, details: { ...details, limit, ...(record ?? {}) } },
    );
  }

  const csvLine = /CSV Error on Line: (\d+)/.exec(message);
  if (csvLine) {
    const line = Number(csvLine[1]);
    const columns = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(message);
    if (columns) {
      return new InvalidInputError(
        `source ${source} line ${line} has ${columns[2]} fields where the header has ${columns[1]}: ` +
          'fix that line (a missing or extra delimiter, or an unclosed quote) or remove it',
        {
          cause: error,
          details: { ...details, line, expected: Number(columns[1]), found: Number(columns[2]) },
        },
      );
    }
    const conversion = /converting column "(.*?)"\. Could not convert string "(.*?)" to '(.+?)'/s.exec(
      message,
    );
    if (conversion) {
      const [, column = '', value = '', type = ''] = conversion;
      return typeError(context, { where: `line ${line}`, column, value, type, line }, error);
    }
    const reason = message.split('\n').find((text, i) => i > 1 && text.trim() !== '') ?? first;
    return new InvalidInputError(`source ${source} line ${line}: ${reason.trim()}: fix that line`, {
      cause: error,
      details: { ...details, line },
    });
  }

  if (format === 'json' || format === 'ndjson') {
    if (/Malformed JSON|unexpected (character|end)|JSON/i.test(message)) {
      const fault = await locateJsonFault(context.path, format === 'ndjson');
      if (fault) {
        return new InvalidInputError(
          `source ${source} is not valid JSON: line ${fault.line}, column ${fault.column}: ${fault.reason}; ` +
            'fix the file (or the program that wrote it)',
          { cause: error, details: { ...details, line: fault.line, column: fault.column } },
        );
      }
    }
  }

  if (/Conversion Error|Could not convert/i.test(message) && Object.keys(context.types).length > 0) {
    const located = await locateBadValue(context, db);
    if (located) return typeError(context, located, error);
  }

  if (context.transform && /^(Conversion|Out of Range|Binder|Catalog|Parser) Error/.test(first)) {
    return new InvalidInputError(
      `the sql transform failed while running over source ${source} (${first}): fix the query`,
      { cause: error, details },
    );
  }
  if (format === 'parquet') {
    return new InvalidInputError(
      `source ${source} is corrupt or unreadable Parquet (${first}): re-export or fetch the file again`,
      { cause: error, details },
    );
  }
  return new InvalidInputError(
    `source ${source} cannot be read as ${format}${context.transform ? ' through the sql transform' : ''} ` +
      `(${first}): check the file${context.transform ? ' and the query' : ''}, or declare its format and options`,
    { cause: error, details },
  );
}

interface BadValue {
  where: string;
  column: string;
  value: string;
  type: string;
  line?: number;
  record?: number;
}

function typeError(context: ReadContext, bad: BadValue, cause: unknown): SluiceError {
  const declared = bad.column in context.types;
  const base =
    `source ${context.source} ${bad.where}, column "${bad.column}": value ${JSON.stringify(bad.value)} ` +
    `is not ${declared ? 'of its declared type' : 'of the type inferred from the first rows,'} ${bad.type}`;
  const details = { source: context.source, ...bad, declared };
  if (declared) {
    return new DataValidationError(`${base}: fix the value or declare another type for "${bad.column}"`, {
      cause,
      details,
    });
  }
  return new InvalidInputError(
    `${base}: declare the column's type (types: { "${bad.column}": "VARCHAR" }) or fix the value`,
    { cause, details },
  );
}

/** Find the first record whose value does not cast to its declared type (error path only). */
async function locateBadValue(context: ReadContext, db: DuckDBConnection): Promise<BadValue | undefined> {
  for (const [column, type] of Object.entries(context.types)) {
    const c = ident(column);
    const result = await db.runAndReadAll(
      `SELECT n, v FROM (SELECT row_number() OVER () AS n, ${c} AS raw, CAST(${c} AS VARCHAR) AS v ` +
        `FROM ${context.rawRelation}) WHERE raw IS NOT NULL AND TRY_CAST(raw AS ${type}) IS NULL LIMIT 1`,
    );
    const [n, v] = result.getRowsJS()[0] ?? [];
    if (n !== undefined) {
      const record = Number(n);
      return { where: `record ${record}`, column, value: cellText(v), type, record };
    }
  }
  return undefined;
}

/** The first line of a DuckDB message, without its query excerpt. */
export function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).trim();
}
