import type { DuckDBConnection } from '@duckdb/node-api';

/** A value as `getColumnsJS()` returns it (bigint for BIGINT/HUGEINT, arrays for LIST/MAP, …). */
export type DuckValue = unknown;

/**
 * Run a query that returns exactly one row (an aggregate) and hand back that row by column name.
 * Results are read as columns: this helper is for aggregates, never for data-sized results.
 */
export async function readOneRow(db: DuckDBConnection, sql: string): Promise<Record<string, DuckValue>> {
  const result = await db.runAndReadAll(sql);
  const columns = result.getColumnsObjectJS();
  return Object.fromEntries(Object.entries(columns).map(([name, values]) => [name, values[0] ?? null]));
}

/** A number from a DuckDB value (bigint and numeric text included); `null` for SQL NULL. */
export function toNumber(value: DuckValue): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  throw new TypeError(`expected a number from DuckDB, got ${typeof value}`);
}

/** Like {@link toNumber}, with SQL NULL read as 0 (for counts). */
export function toCount(value: DuckValue): number {
  return toNumber(value) ?? 0;
}

/** A DuckDB MAP (as `getColumnsJS` returns it: `[{ key, value }]`) as key/value pairs. */
export function mapEntries(value: DuckValue): { key: unknown; value: unknown }[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (entry): entry is { key: unknown; value: unknown } =>
      typeof entry === 'object' && entry !== null && 'key' in entry && 'value' in entry,
  );
}

/** Epoch milliseconds from DuckDB as ISO-8601 text; `null` for SQL NULL. */
export function epochMsToIso(value: DuckValue): string | null {
  const ms = toNumber(value);
  return ms === null ? null : new Date(ms).toISOString();
}
