import type { DuckDBConnection } from '@duckdb/node-api';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { CsvOptions } from '../../pipelines/ingest-params.js';
import { sqlString } from '../../lib/duckdb.js';
import { checkCsvHeader } from './csv-header.js';
import { delimiterName, firstLineDelimiters, scanCsvShape, type CsvShape } from './csv-shape.js';
import { firstLine } from './read-errors.js';
import { cellText } from './sql.js';

export { csvOptionsSchema, type CsvOptions } from '../../pipelines/ingest-params.js';

export interface CsvSource {
  source: string;
  path: string;
  format: 'csv' | 'tsv';
  csv: CsvOptions;
}

/** A CSV dialect, sniffed once: it builds `read_csv` calls that never sniff again. */
export interface CsvDialect {
  /** Column names and types as detected (declared options honoured). */
  columns: { name: string; type: string }[];
  /**
   * A fully specified `read_csv(…, auto_detect=false, columns={…})`: every later bind of the view
   * costs nothing, where an auto-detecting `read_csv` re-sniffs the file on each one. `types` override
   * detected column types (DuckDB then reports a value that does not fit with its line).
   */
  reader(types: Readonly<Record<string, string>>): string;
}

/**
 * Sniff a CSV/TSV source once, after making sure DuckDB will split it the way the file is written.
 * DuckDB's sniffer, when rows are ragged or the declared delimiter is wrong, quietly falls back to
 * reading every line as one column; that case is caught here and explained: the first ragged line, or
 * the delimiter the file actually uses.
 *
 * @throws InvalidInputError naming the file, the line and the fix.
 */
export async function sniffCsv(db: DuckDBConnection, csv: CsvSource): Promise<CsvDialect> {
  const declared = csv.csv.delimiter ?? (csv.format === 'tsv' ? '\t' : undefined);
  const quote = csv.csv.quote ?? '"';
  const options = { ...csv.csv, ...(declared === undefined ? {} : { delimiter: declared }) };

  let sniffed: Sniffed;
  try {
    sniffed = await sniff(db, csv.path, options);
  } catch (error) {
    if (!/sniff/i.test((error as Error).message)) throw error;
    const guess = declared ?? (await firstLineDelimiters(csv.path, quote))[0] ?? ',';
    const shape = await scanCsvShape(csv.path, guess, quote);
    if (shape.ragged) throw raggedError(csv.source, shape, guess);
    throw new InvalidInputError(
      `source ${csv.source}: DuckDB cannot detect its CSV dialect (${firstLine((error as Error).message)}): ` +
        'declare the delimiter, quote and header (--delimiter, --no-header)',
      { cause: error, details: { source: csv.source } },
    );
  }

  if (sniffed.columns.length === 1) {
    const [other] = (await firstLineDelimiters(csv.path, quote)).filter((d) => d !== sniffed.delimiter);
    if (other !== undefined) {
      const shape = await scanCsvShape(csv.path, other, quote);
      if (shape.ragged) throw raggedError(csv.source, shape, other);
      if (declared !== undefined) throw wrongDelimiterError(csv.source, declared, other, shape);
      sniffed = await sniff(db, csv.path, { ...options, delimiter: other });
    }
  }
  const dialect = sniffed;
  if (dialect.header) {
    await checkCsvHeader(csv.source, csv.path, {
      delimiter: dialect.delimiter,
      quote: dialect.quote,
      skip: dialect.skip,
    });
  }
  return {
    columns: dialect.columns,
    reader: (types) => {
      const columns = dialect.columns
        .map(({ name, type }) => `${sqlString(name)}: ${sqlString(types[name] ?? type)}`)
        .join(', ');
      return `read_csv(${[sqlString(csv.path), 'auto_detect=false', ...dialect.options, `columns={${columns}}`].join(', ')})`;
    },
  };
}

interface Sniffed {
  delimiter: string;
  quote: string;
  skip: number;
  header: boolean;
  columns: { name: string; type: string }[];
  /** The detected dialect as `read_csv` options. */
  options: string[];
}

async function sniff(db: DuckDBConnection, path: string, declared: CsvOptions): Promise<Sniffed> {
  const result = await db.runAndReadAll(
    'SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, HasHeader, Columns, ' +
      `DateFormat, TimestampFormat FROM sniff_csv(${[sqlString(path), ...optionSql(declared)].join(', ')})`,
  );
  const [delimiter, quote, escape, newLine, comment, skip, header, columns, dateFormat, timestampFormat] =
    result.getRowsJS()[0] ?? [];
  const text = (value: unknown) => {
    const s = cellText(value);
    return s === '(empty)' ? '' : s;
  };
  const options = [
    `delim=${sqlString(text(delimiter))}`,
    `quote=${sqlString(text(quote))}`,
    `escape=${sqlString(text(escape))}`,
    `comment=${sqlString(text(comment))}`,
    `skip=${Number(skip ?? 0)}`,
    `header=${header === true}`,
  ];
  if (['\\n', '\\r', '\\r\\n'].includes(text(newLine))) options.push(`new_line=${sqlString(text(newLine))}`);
  if (dateFormat) options.push(`dateformat=${sqlString(text(dateFormat))}`);
  if (timestampFormat) options.push(`timestampformat=${sqlString(text(timestampFormat))}`);
  const list = (columns ?? []) as { name: unknown; type: unknown }[];
  return {
    delimiter: text(delimiter),
    quote: text(quote),
    skip: Number(skip ?? 0),
    header: header === true,
    columns: list.map((c) => ({ name: cellText(c.name), type: cellText(c.type) })),
    options,
  };
}

function optionSql(options: CsvOptions): string[] {
  const sql: string[] = [];
  if (options.delimiter !== undefined) sql.push(`delim=${sqlString(options.delimiter)}`);
  if (options.header !== undefined) sql.push(`header=${options.header}`);
  if (options.quote !== undefined) sql.push(`quote=${sqlString(options.quote)}`);
  return sql;
}

function raggedError(source: string, shape: CsvShape, delimiter: string): InvalidInputError {
  const { line, fields } = shape.ragged!;
  return new InvalidInputError(
    `source ${source} line ${line} has ${fields} fields where line 1 has ${shape.expected} ` +
      `(split on ${delimiterName(delimiter)}): fix that line (a missing or extra delimiter, or an unclosed quote) or remove it`,
    { details: { source, line, found: fields, expected: shape.expected, delimiter } },
  );
}

function wrongDelimiterError(
  source: string,
  declared: string,
  actual: string,
  shape: CsvShape,
): InvalidInputError {
  const fix = actual === '\t' ? `--delimiter '\\t' (or --format tsv)` : `--delimiter '${actual}'`;
  return new InvalidInputError(
    `source ${source} was read with delimiter ${delimiterName(declared)}, which gives one column, but it ` +
      `looks like ${delimiterName(actual)}-separated data (${shape.expected} fields on each of ${shape.records} lines): ` +
      `declare ${fix}${declared === '\t' && actual === ',' ? ' or --format csv' : ''}`,
    { details: { source, declared, detected: actual, columns: shape.expected } },
  );
}
