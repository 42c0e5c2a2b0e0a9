import { sqlString } from './duckdb.js';

/**
 * A quoted SQL identifier. Column names come from users' files (`Beak Length (mm)`, `"odd"`), so every
 * generated query quotes them; nothing is ever spliced in raw.
 */
export function sqlIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A SQL literal for a contract value: text quoted, numbers and booleans as written. */
export function sqlLiteral(value: string | number | boolean): string {
  if (typeof value === 'string') return sqlString(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (!Number.isFinite(value)) throw new RangeError(`${value} has no SQL literal`);
  return String(value);
}
