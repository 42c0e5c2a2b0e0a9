import { DuckDBTypeId, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import type { CustomCheck } from '../../pipelines/contract.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { Anomaly } from '../../pipelines/validation.js';
import { readOneRow, toCount } from '../../lib/duckdb-values.js';
import { toExample } from './query-checks.js';

/**
 * Run a contract's custom SQL checks over the view `dataset` (which is all they can read: see
 * `withDatasetView`). A check is one SELECT. If it returns a single BOOLEAN column it is an assertion
 * that must be true on every row it returns; otherwise every row it returns is a violation, counted,
 * with up to five rows kept as examples.
 *
 * @throws InvalidInputError for a check that is not one SELECT or that DuckDB cannot run, naming the
 *   check and DuckDB's reason: a broken contract is an error, a failed check is an anomaly.
 */
export async function runCustomChecks(
  db: DuckDBConnection,
  checks: readonly CustomCheck[],
): Promise<Anomaly[]> {
  const anomalies: Anomaly[] = [];
  for (const check of checks) {
    const sql = check.sql.trim().replace(/;+\s*$/, '');
    const assertion = await inspect(db, check, sql);
    // The newline keeps a trailing `-- comment` in the check from swallowing the closing parenthesis.
    const wrapped = `(${sql}\n)`;
    if (assertion) {
      const row = await readOneRow(
        db,
        `SELECT count(*) AS n, count_if(t.v IS NOT TRUE) AS bad FROM ${wrapped} AS t(v)`,
      );
      const bad = toCount(row['bad']);
      if (bad > 0) {
        const rows = toCount(row['n']);
        anomalies.push({
          check: `sql:${check.name}`,
          expected: check.description ?? 'true',
          observed: rows === 1 ? 'false' : `false on ${bad} of ${rows} rows`,
          severity: check.severity,
          count: bad,
        });
      }
      continue;
    }
    const counted = await readOneRow(db, `SELECT count(*) AS n FROM ${wrapped} AS t`);
    const violations = toCount(counted['n']);
    if (violations === 0) continue;
    const sample = (await db.runAndReadAll(`SELECT * FROM ${wrapped} AS t LIMIT 5`)).getRowObjectsJS();
    anomalies.push({
      check: `sql:${check.name}`,
      expected: check.description ?? 'no rows returned',
      observed: `${violations} violating rows`,
      severity: check.severity,
      count: violations,
      examples: sample.map((row) => toExample(row)),
    });
  }
  return anomalies;
}

/** Check that `sql` is one SELECT DuckDB can plan; true when it is a boolean assertion. */
async function inspect(db: DuckDBConnection, check: CustomCheck, sql: string): Promise<boolean> {
  const broken = (reason: string, cause?: unknown): InvalidInputError =>
    new InvalidInputError(
      `contract check "${check.name}": ${reason}; write one SELECT over the view "dataset"`,
      { cause, details: { check: check.name, sql: check.sql } },
    );
  let statements;
  try {
    statements = await db.extractStatements(sql);
  } catch (error) {
    throw broken(firstLine(error), error);
  }
  if (statements.count !== 1) throw broken(`found ${statements.count} statements`);
  let prepared;
  try {
    prepared = await statements.prepare(0);
  } catch (error) {
    throw broken(firstLine(error), error);
  }
  try {
    if (prepared.statementType !== StatementType.SELECT) throw broken('it is not a SELECT');
    return prepared.columnCount === 1 && prepared.columnTypeId(0) === DuckDBTypeId.BOOLEAN;
  } finally {
    prepared.destroySync();
  }
}

function firstLine(error: unknown): string {
  return ((error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '').trim();
}
