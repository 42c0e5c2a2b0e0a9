import { StatementType, type DuckDBConnection } from '@duckdb/node-api';
import type { ColumnSchema } from '../../pipelines/artifact.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { firstLine } from './read-errors.js';

/**
 * Check a feature-engineering transform before it runs: exactly one SELECT, which binds against the
 * view `source`. DuckDB runs sandboxed during ingest (no file access beyond the source and the store's
 * staging area, configuration locked), so the query cannot read or write anything else either.
 *
 * @returns the query, trailing semicolons removed, ready to be wrapped in `COPY (…) TO`.
 * @throws InvalidInputError with DuckDB's reason and the columns `source` offers.
 */
export async function checkTransform(
  db: DuckDBConnection,
  sql: string,
  source: string,
  columns: readonly ColumnSchema[],
): Promise<string> {
  const text = sql.trim().replace(/;+\s*$/, '');
  const offered = columns.map((c) => `${c.name} ${c.type}`).join(', ');
  const refuse = (problem: string, cause?: unknown) =>
    new InvalidInputError(
      `the sql transform for source ${source} ${problem}: write one SELECT over the view "source" (columns: ${offered})`,
      { cause, details: { source, sql: text } },
    );
  let statements;
  try {
    statements = await db.extractStatements(text);
  } catch (error) {
    throw refuse(`does not parse (${firstLine((error as Error).message)})`, error);
  }
  if (statements.count !== 1) throw refuse(`has ${statements.count} statements`);
  let prepared;
  try {
    prepared = await statements.prepare(0);
  } catch (error) {
    const message = firstLine((error as Error).message);
    if (/file system operations are disabled|Permission Error/i.test(message)) {
      throw refuse('tries to read a file; it may read only the view "source"', error);
    }
    throw refuse(`fails (${message})`, error);
  }
  if (prepared.statementType !== StatementType.SELECT) throw refuse('is not a SELECT');
  return text;
}
