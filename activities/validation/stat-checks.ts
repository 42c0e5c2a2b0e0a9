import { parseDuration } from '../../pipelines/duration.js';
import { typeMatches, type ColumnContract, type Contract } from '../../pipelines/contract.js';
import type { ColumnStatistics, DatasetStatistics } from '../../pipelines/statistics.js';
import type { Anomaly } from '../../pipelines/validation.js';

/** A check statistics cannot answer: it needs a targeted query over the data. */
export type QueryCheck =
  | {
      kind: 'allowed';
      column: ColumnStatistics;
      contract: ColumnContract;
      values: (string | number | boolean)[];
    }
  | { kind: 'regex'; column: ColumnStatistics; contract: ColumnContract; pattern: string }
  | { kind: 'pii'; column: ColumnStatistics; contract: ColumnContract; pattern: string }
  | { kind: 'unique'; column: ColumnStatistics; contract: ColumnContract };

/** What ingest writes for a `pii: 'hash'` column: HMAC-SHA256 as 64 lowercase hex digits. */
export const hmacHexPattern = '[0-9a-f]{64}';

export interface StatCheckOutcome {
  anomalies: Anomaly[];
  /** Checks evaluated here. */
  checks: number;
  /** Checks left for {@link QueryCheck} queries. */
  pending: QueryCheck[];
}

/**
 * Every check the statistics can answer, with no scan of the data: presence, type, nulls, min/max,
 * NaN/±Infinity, row count, freshness, unexpected columns, and `allowed` when the statistics hold the
 * complete frequency table of the column.
 *
 * @param referenceTime epoch milliseconds freshness is measured against (passed in: deterministic).
 */
export function statChecks(
  contract: Contract,
  stats: DatasetStatistics,
  referenceTime: number,
): StatCheckOutcome {
  const anomalies: Anomaly[] = [];
  const pending: QueryCheck[] = [];
  let checks = 0;
  const byName = new Map(stats.columns.map((column) => [column.name, column]));

  for (const [name, want] of Object.entries(contract.columns)) {
    const severity = want.severity;
    const add = (
      check: string,
      expected: string,
      observed: string | number,
      extra: Partial<Anomaly> = {},
    ): void => {
      anomalies.push({ column: name, check, expected, observed, severity, ...extra });
    };
    const column = byName.get(name);
    checks += 1;
    if (want.pii === 'drop') {
      // Ingest leaves the column out; finding it means personal data reached the snapshot.
      if (column) add('pii', 'column dropped at ingest (pii: drop)', 'present');
      continue;
    }
    if (!column) {
      if (want.required) add('required', 'column present', 'missing');
      continue;
    }
    if (want.type !== undefined) {
      checks += 1;
      if (!typeMatches(want.type, column.type)) add('type', want.type, column.type);
    }
    if (!want.nullable) {
      checks += 1;
      if (column.nulls > 0)
        add('nullable', 'no nulls', `${column.nulls} nulls (${percent(column.nullFraction)})`, {
          count: column.nulls,
        });
    }
    if (want.maxNullFraction !== undefined) {
      checks += 1;
      if (column.nullFraction > want.maxNullFraction) {
        add(
          'max-null-fraction',
          `<= ${percent(want.maxNullFraction)} nulls`,
          `${percent(column.nullFraction)} (${column.nulls} nulls)`,
          {
            count: column.nulls,
          },
        );
      }
    }
    for (const side of ['min', 'max'] as const) {
      const bound = want[side];
      if (bound === undefined) continue;
      checks += 1;
      const verdict = compareBound(column, side, bound);
      if (verdict) add(side, `${side === 'min' ? '>=' : '<='} ${String(bound)}`, verdict);
    }
    if (want.finite) {
      checks += 1;
      const bad = (column.nan ?? 0) + (column.posInf ?? 0) + (column.negInf ?? 0);
      if (bad > 0) {
        add(
          'finite',
          'no NaN or ±Infinity',
          `${column.nan ?? 0} NaN, ${column.posInf ?? 0} +Infinity, ${column.negInf ?? 0} -Infinity`,
          {
            count: bad,
          },
        );
      }
    }
    if (want.allowed !== undefined) {
      checks += 1;
      const fromStats = allowedFromStatistics(column, want.allowed);
      if (fromStats === null) pending.push({ kind: 'allowed', column, contract: want, values: want.allowed });
      else if (fromStats.count > 0) {
        add(
          'allowed',
          `one of ${list(want.allowed)}`,
          `${fromStats.count} values outside the list`,
          fromStats,
        );
      }
    }
    if (want.regex !== undefined) {
      checks += 1;
      pending.push({ kind: 'regex', column, contract: want, pattern: want.regex });
    }
    if (want.pii === 'hash') {
      checks += 1;
      pending.push({ kind: 'pii', column, contract: want, pattern: hmacHexPattern });
    }
    if (want.unique) {
      checks += 1;
      pending.push({ kind: 'unique', column, contract: want });
    }
  }

  if (contract.rows) {
    checks += 1;
    const { min, max } = contract.rows;
    if ((min !== undefined && stats.rows < min) || (max !== undefined && stats.rows > max)) {
      const expected = [min !== undefined ? `>= ${min}` : '', max !== undefined ? `<= ${max}` : '']
        .filter(Boolean)
        .join(' and ');
      anomalies.push({
        check: 'rows',
        expected: `${expected} rows`,
        observed: stats.rows,
        severity: contract.rows.severity,
      });
    }
  }

  if (contract.freshness) {
    checks += 1;
    const anomaly = freshness(contract.freshness, byName.get(contract.freshness.column), referenceTime);
    if (anomaly) anomalies.push(anomaly);
  }

  if (contract.unexpectedColumns !== 'allow') {
    for (const column of stats.columns) {
      if (column.name in contract.columns) continue;
      checks += 1;
      anomalies.push({
        column: column.name,
        check: 'unexpected-column',
        expected: 'only the columns the contract names',
        observed: `${column.name} (${column.type})`,
        severity: contract.unexpectedColumns === 'error' ? 'error' : 'warn',
      });
    }
  }
  return { anomalies, checks, pending };
}

/**
 * Compare a column's observed extreme with a contract bound. Returns what was observed when it breaks
 * the bound (or cannot be compared), `null` when it holds. ±Infinity in a float column breaks any min
 * (−∞) or max (+∞) bound.
 */
function compareBound(column: ColumnStatistics, side: 'min' | 'max', bound: number | string): string | null {
  const observed = column[side];
  const infinite = side === 'min' ? (column.negInf ?? 0) : (column.posInf ?? 0);
  if (infinite > 0) return `${infinite} values are ${side === 'min' ? '-' : '+'}Infinity`;
  if (observed === null) return null; // no values: nothing breaks the bound (nullability is its own check)
  const breaks = (a: number | string, b: number | string): boolean => (side === 'min' ? a < b : a > b);
  switch (column.family) {
    case 'integer':
    case 'float':
    case 'decimal':
      if (typeof bound !== 'number')
        return `not comparable: ${column.name} is ${column.type}, the bound is text`;
      return breaks(observed as number, bound) ? String(observed) : null;
    case 'date':
    case 'timestamp': {
      const limit = typeof bound === 'string' ? Date.parse(bound) : Number.NaN;
      if (Number.isNaN(limit))
        return `not comparable: ${column.name} is ${column.type}; give the bound as an ISO date`;
      return breaks(Date.parse(String(observed)), limit) ? String(observed) : null;
    }
    case 'string':
      if (typeof bound !== 'string')
        return `not comparable: ${column.name} is ${column.type}, the bound is a number`;
      return breaks(String(observed), bound) ? String(observed) : null;
    case 'boolean':
    case 'time':
    case 'other':
      return `not comparable: min/max apply to numbers, dates, timestamps and text, not ${column.type}`;
    default: {
      const never: never = column.family;
      return String(never);
    }
  }
}

/** `allowed` from the complete frequency table, when the statistics have it; else `null`. */
function allowedFromStatistics(
  column: ColumnStatistics,
  allowed: readonly (string | number | boolean)[],
): { count: number; examples: (string | number | boolean)[] } | null {
  if (column.topKComplete !== true || column.topK === undefined) return null;
  const accepted = new Set(allowed.map((value) => String(value)));
  const outside = column.topK.filter((top) => !accepted.has(String(top.value)));
  return {
    count: outside.reduce((sum, top) => sum + top.count, 0),
    examples: outside
      .map((top) => top.value)
      .sort((a, b) => String(a).localeCompare(String(b)))
      .slice(0, 5),
  };
}

function freshness(
  rule: NonNullable<Contract['freshness']>,
  column: ColumnStatistics | undefined,
  referenceTime: number,
): Anomaly | null {
  const base = {
    column: rule.column,
    check: 'freshness',
    expected: `newest value at most ${rule.maxAge} old`,
    severity: rule.severity,
  };
  if (!column) return { ...base, observed: 'column missing' };
  if (column.family !== 'date' && column.family !== 'timestamp') {
    return { ...base, observed: `${column.name} is ${column.type}, not a date or timestamp` };
  }
  if (column.max === null) return { ...base, observed: 'no values' };
  const newest = Date.parse(String(column.max));
  const age = referenceTime - newest;
  if (age <= parseDuration(rule.maxAge, 'freshness.maxAge')) return null;
  return { ...base, observed: `newest ${String(column.max)} is ${humanAge(age)} old` };
}

function humanAge(ms: number): string {
  const hours = ms / 3_600_000;
  return hours >= 48 ? `${(hours / 24).toFixed(1)}d` : `${hours.toFixed(1)}h`;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(fraction < 0.001 && fraction > 0 ? 4 : 2)}%`;
}

/** A short list for messages: the first ten values and how many more. */
export function list(values: readonly (string | number | boolean)[]): string {
  const shown = values.slice(0, 10).map((value) => JSON.stringify(value));
  return `[${shown.join(', ')}${values.length > 10 ? `, … ${values.length - 10} more` : ''}]`;
}
