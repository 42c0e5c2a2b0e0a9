import type { DuckDBConnection } from '@duckdb/node-api';
import { z } from 'zod';
import { InvalidInputError } from '../../pipelines/errors.js';
import { sqlString } from '../duckdb.js';
import { delimiterName, firstLineDelimiters, scanCsvShape, type CsvShape } from './csv-shape.js';
import { firstLine } from './read-errors.js';
import { cellText } from './sql.js';

/** `\t` and `tab` both mean a tab: what people type on a command line. */
const delimiter = z
  .string()
  .transform((value) => (value === '\\t' || value.toLowerCase() === 'tab' ? '\t' : value))
  .refine((value) => value.length >= 1 && value.length <= 4 && !/[\r\n]/.test(value), {
    message: 'one to four characters, not a newline (use \\t or "tab" for tab)',
  });

/** CSV/TSV dialect options; anything left out is detected by DuckDB's sniffer. */
export const csvOptionsSchema = z.strictObject({
  /** Field separator; default: detected (`\t` for format `tsv`). */
  delimiter: delimiter.optional(),
  /** Whether line 1 names the columns; default: detected. */
  header: z.boolean().optional(),
  /** Quote character, or `''` for none; default: detected. */
  quote: z.string().max(1, 'one character, or an empty string for none').optional(),
});
export type CsvOptions = z.output<typeof csvOptionsSchema>;

export interface CsvSource {
  source: string;
  path: string;
  format: 'csv' | 'tsv';
  csv: CsvOptions;
  /** Declared column types, handed to DuckDB so a bad value is reported with its line. */
  types: Readonly<Record<string, string>>;
}

/**
 * The `read_csv(…)` call for a CSV/TSV source, after making sure DuckDB will split it the way the
 * file is written. DuckDB's sniffer, when rows are ragged or the declared delimiter is wrong, quietly
 * falls back to reading every line as one column; that case is caught here and explained: the first
 * ragged line, or the delimiter the file actually uses.
 *
 * @throws InvalidInputError naming the file, the line and the fix.
 */
export async function csvReader(db: DuckDBConnection, csv: CsvSource): Promise<string> {
  const declared = csv.csv.delimiter ?? (csv.format === 'tsv' ? '\t' : undefined);
  const quote = csv.csv.quote ?? '"';
  let options = { ...csv.csv, ...(declared === undefined ? {} : { delimiter: declared }) };

  let sniffed: { delimiter: string; columns: number };
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

  if (sniffed.columns === 1) {
    const [other] = (await firstLineDelimiters(csv.path, quote)).filter((d) => d !== sniffed.delimiter);
    if (other !== undefined) {
      const shape = await scanCsvShape(csv.path, other, quote);
      if (shape.ragged) throw raggedError(csv.source, shape, other);
      if (declared !== undefined) throw wrongDelimiterError(csv.source, declared, other, shape);
      options = { ...options, delimiter: other };
    }
  }
  return `read_csv(${[sqlString(csv.path), ...optionSql(options), ...typesSql(csv.types)].join(', ')})`;
}

async function sniff(
  db: DuckDBConnection,
  path: string,
  options: CsvOptions,
): Promise<{ delimiter: string; columns: number }> {
  const result = await db.runAndReadAll(
    `SELECT Delimiter AS d, len(Columns) AS n FROM sniff_csv(${[sqlString(path), ...optionSql(options)].join(', ')})`,
  );
  const [d, n] = result.getRowsJS()[0] ?? [];
  return { delimiter: cellText(d), columns: Number(n) };
}

function optionSql(options: CsvOptions): string[] {
  const sql: string[] = [];
  if (options.delimiter !== undefined) sql.push(`delim=${sqlString(options.delimiter)}`);
  if (options.header !== undefined) sql.push(`header=${options.header}`);
  if (options.quote !== undefined) sql.push(`quote=${sqlString(options.quote)}`);
  return sql;
}

function typesSql(types: Readonly<Record<string, string>>): string[] {
  const entries = Object.entries(types);
  if (entries.length === 0) return [];
  return [`types={${entries.map(([name, type]) => `${sqlString(name)}: ${sqlString(type)}`).join(', ')}}`];
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
