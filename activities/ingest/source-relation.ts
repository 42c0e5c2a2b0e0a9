import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnSchema } from '../../pipelines/artifact.js';
import { ConfigurationError, InvalidInputError } from '../../pipelines/errors.js';
import type { PiiPolicy } from '../../pipelines/privacy.js';
import { sqlString } from '../../lib/duckdb.js';
import { loadArrow } from './arrow-source.js';
import { sniffCsv, type CsvOptions } from './csv-source.js';
import type { SourceFormat } from './format.js';
import { hmacSql, installHmacKey } from './pii-hash.js';
import type { ArrowLayout } from './preflight.js';
import { cellText, ident } from './sql.js';

/** The relation a source is first read into, before declared types and privacy apply. */
export const rawRelation = 'source_raw';
/** The view the SQL transform (and the default snapshot) selects from. */
export const sourceView = 'source';

export interface SourcePlan {
  source: string;
  path: string;
  format: SourceFormat;
  csv: CsvOptions;
  types: Readonly<Record<string, string>>;
  pii: PiiPolicy;
  piiKey: string | undefined;
  arrowLayout: ArrowLayout | undefined;
}

/**
 * Define `source_raw` (the file as DuckDB reads it; an appended table for Arrow) and the view `source`
 * over it: declared types cast, `pii: 'hash'` columns replaced by their HMAC, `pii: 'drop'` columns
 * excluded. Privacy applies here, before any transform, so raw personal data can reach neither the
 * user's SQL nor the snapshot.
 *
 * @returns the columns of `source`.
 */
export async function defineSource(db: DuckDBConnection, plan: SourcePlan): Promise<ColumnSchema[]> {
  const { source, format } = plan;
  const csv =
    format === 'csv' || format === 'tsv'
      ? await sniffCsv(db, { source, path: plan.path, format, csv: plan.csv })
      : undefined;
  if (format === 'arrow') {
    await loadArrow(db, source, plan.path, plan.arrowLayout ?? 'file', rawRelation);
  } else {
    await db.run(`CREATE VIEW ${rawRelation} AS SELECT * FROM ${csv ? csv.reader({}) : reader(plan)}`);
  }
  const raw = await describeQuery(db, `SELECT * FROM ${rawRelation}`);
  const names = raw.map((c) => c.name);
  checkColumns(source, names, Object.keys(plan.types), 'types');
  checkColumns(source, names, Object.keys(plan.pii), 'pii');

  if (csv && Object.keys(plan.types).length > 0) {
    // Declared types go to DuckDB's CSV reader, which then reports a bad value with its line.
    await db.run(`CREATE OR REPLACE VIEW ${rawRelation} AS SELECT * FROM ${csv.reader(plan.types)}`);
  }
  const casts = csv ? {} : plan.types;
  const dropped = names.filter((name) => plan.pii[name] === 'drop');
  if (dropped.length === names.length) {
    throw new InvalidInputError(
      `source ${source}: every column is marked pii: 'drop', so nothing would be ingested: hash some instead`,
      { details: { source, dropped } },
    );
  }
  const hashed = names.filter((name) => plan.pii[name] === 'hash');
  if (hashed.length > 0) await installHmacKey(db, requirePiiKey(plan.piiKey, hashed));
  const replaced = names
    .filter((name) => name in casts || plan.pii[name] === 'hash')
    .map((name) => {
      let expression = ident(name);
      const cast = casts[name];
      if (cast !== undefined) expression = `CAST(${expression} AS ${cast})`;
      if (plan.pii[name] === 'hash') expression = hmacSql(expression);
      return `${expression} AS ${ident(name)}`;
    });
  const exclude = dropped.length > 0 ? ` EXCLUDE (${dropped.map(ident).join(', ')})` : '';
  const replace = replaced.length > 0 ? ` REPLACE (${replaced.join(', ')})` : '';
  await db.run(`CREATE VIEW ${sourceView} AS SELECT *${exclude}${replace} FROM ${rawRelation}`);
  return describeQuery(db, `SELECT * FROM ${sourceView}`);
}

/** Column names and DuckDB types of a query's result, without running it. */
export async function describeQuery(db: DuckDBConnection, query: string): Promise<ColumnSchema[]> {
  const result = await db.runAndReadAll(`DESCRIBE ${query}`);
  return result.getRowsJS().map(([name, type]) => ({ name: cellText(name), type: cellText(type) }));
}

/** The DuckDB table function for the formats DuckDB reads without sniffing. */
function reader(plan: SourcePlan): string {
  const path = sqlString(plan.path);
  switch (plan.format) {
    case 'parquet':
      return `read_parquet(${path})`;
    case 'json':
      return `read_json(${path}, format='auto')`;
    case 'ndjson':
      return `read_json(${path}, format='newline_delimited')`;
    case 'csv':
    case 'tsv':
    case 'arrow':
      throw new Error(`${plan.format} sources are not read through a table function here`);
  }
}

/** Every named column must exist, spelled exactly (DuckDB itself would match case-insensitively). */
function checkColumns(
  source: string,
  names: readonly string[],
  wanted: readonly string[],
  option: string,
): void {
  for (const column of wanted) {
    if (names.includes(column)) continue;
    const near = names.find((name) => name.toLowerCase() === column.toLowerCase());
    throw new InvalidInputError(
      `source ${source} has no column "${column}" (named in ${option}): ` +
        (near ? `did you mean "${near}"? ` : '') +
        `its columns are ${names.map((n) => `"${n}"`).join(', ')}`,
      { details: { source, column, option, columns: [...names] } },
    );
  }
}

/**
 * The HMAC key, or the error that says how to provide it.
 *
 * @throws ConfigurationError naming SLUICE_PII_KEY and the columns that need it.
 */
export function requirePiiKey(key: string | undefined, hashed: readonly string[]): string {
  if (key !== undefined && key !== '') return key;
  throw new ConfigurationError(
    `SLUICE_PII_KEY is not set, and column${hashed.length > 1 ? 's' : ''} ${hashed.map((c) => `"${c}"`).join(', ')} ` +
      "must be hashed (pii: 'hash'): set SLUICE_PII_KEY on the worker to a secret of at least 16 characters " +
      "(e.g. openssl rand -hex 32), or mark the column pii: 'drop'",
    { details: { variable: 'SLUICE_PII_KEY', columns: [...hashed] } },
  );
}
