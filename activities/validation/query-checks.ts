import type { DuckDBConnection } from '@duckdb/node-api';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { Anomaly } from '../../pipelines/validation.js';
import { sqlString } from '../../lib/duckdb.js';
import { readOneRow, toCount } from '../../lib/duckdb-values.js';
import { sqlIdentifier, sqlLiteral } from '../../lib/sql-text.js';
import { list, type QueryCheck } from './stat-checks.js';

/**
 * The checks statistics cannot answer (`allowed` without a complete frequency table, `regex`,
 * `unique`), counted in ONE extra scan: a single `SELECT` with one `count_if` (or exact distinct
 * count) per check. Only failing checks pay for a second, small query fetching up to five distinct
 * offending values.
 *
 * @throws InvalidInputError for a regex DuckDB (RE2) rejects, naming the column and the pattern.
 */
export async function runQueryChecks(
  db: DuckDBConnection,
  view: string,
  checks: readonly QueryCheck[],
): Promise<Anomaly[]> {
  if (checks.length === 0) return [];
  for (const check of checks) {
    if (check.kind !== 'regex' && check.kind !== 'pii') continue;
    try {
      await db.run(`SELECT regexp_full_match('', ${sqlString(check.pattern)})`);
    } catch (error) {
      throw new InvalidInputError(
        `contract column "${check.column.name}": regex ${JSON.stringify(check.pattern)} is not valid RE2 (${firstLine(error)}); fix the pattern`,
        { cause: error, details: { column: check.column.name, regex: check.pattern } },
      );
    }
  }
  const counts = checks.map((check, i) =>
    check.kind === 'unique'
      ? `count(${sqlIdentifier(check.column.name)}) - count(DISTINCT ${sqlIdentifier(check.column.name)}) AS q${i}`
      : `count_if(${violation(check)}) AS q${i}`,
  );
  const row = await readOneRow(db, `SELECT ${counts.join(', ')} FROM ${view}`);
  const anomalies: Anomaly[] = [];
  for (const [i, check] of checks.entries()) {
    const count = toCount(row[`q${i}`]);
    if (count === 0) continue;
    const anomaly: Anomaly = {
      column: check.column.name,
      check: check.kind,
      expected: expectation(check),
      observed: observation(check, count),
      severity: check.contract.severity,
      count,
    };
    // Values of a column that should have been hashed are personal data: never copy them into a report.
    if (check.kind !== 'pii') anomaly.examples = await examples(db, view, check);
    anomalies.push(anomaly);
  }
  return anomalies;
}

/** Up to five distinct offending values, sorted. */
async function examples(
  db: DuckDBConnection,
  view: string,
  check: QueryCheck,
): Promise<(string | number | boolean | null)[]> {
  const x = sqlIdentifier(check.column.name);
  const sql =
    check.kind === 'unique'
      ? `SELECT ${x} AS v FROM ${view} WHERE ${x} IS NOT NULL GROUP BY ${x} HAVING count(*) > 1 ORDER BY v LIMIT 5`
      : `SELECT DISTINCT ${x} AS v FROM ${view} WHERE ${violation(check)} ORDER BY v LIMIT 5`;
  return ((await db.runAndReadAll(sql)).getColumnsObjectJS()['v'] ?? []).map(toExample);
}

function observation(check: QueryCheck, count: number): string {
  switch (check.kind) {
    case 'unique':
      return `${count} duplicate values`;
    case 'allowed':
      return `${count} values outside the list`;
    case 'regex':
      return `${count} values do not match`;
    case 'pii':
      return `${count} values are not hashed`;
    default: {
      const never: never = check;
      return String(never);
    }
  }
}

/** The SQL predicate true for a row that breaks `allowed`, `regex` or `pii: hash`. */
function violation(check: Exclude<QueryCheck, { kind: 'unique' }>): string {
  const x = sqlIdentifier(check.column.name);
  if (check.kind === 'regex' || check.kind === 'pii') {
    return `${x} IS NOT NULL AND NOT regexp_full_match(${x}::VARCHAR, ${sqlString(check.pattern)})`;
  }
  const { family } = check.column;
  const numeric = family === 'integer' || family === 'float' || family === 'decimal';
  const native =
    (numeric && check.values.every((v) => typeof v === 'number')) ||
    (family === 'boolean' && check.values.every((v) => typeof v === 'boolean'));
  // Compare natively when types agree; otherwise as text, so `allowed: ["1"]` never fails on a cast.
  const lhs = native ? x : `${x}::VARCHAR`;
  const values = check.values.map((v) => (native ? sqlLiteral(v) : sqlString(String(v))));
  return `${x} IS NOT NULL AND ${lhs} NOT IN (${values.join(', ')})`;
}

function expectation(check: QueryCheck): string {
  switch (check.kind) {
    case 'allowed':
      return `one of ${list(check.values)}`;
    case 'regex':
      return `matches /${check.pattern}/ (whole value)`;
    case 'pii':
      return 'hashed at ingest (pii: hash): 64 hex digits';
    case 'unique':
      return 'unique values';
    default: {
      const never: never = check;
      return String(never);
    }
  }
}

/** A DuckDB value as a JSON example: bigints as numbers (or text when too large), dates as ISO. */
export function toExample(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v,
  );
}

function firstLine(error: unknown): string {
  return ((error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '').trim();
}
