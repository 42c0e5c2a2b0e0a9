/** A quoted SQL identifier: column names come from users' files, so none is ever spliced in raw. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A DuckDB type name as a user may declare it (`INTEGER`, `DECIMAL(10,2)`, `VARCHAR[]`,
 * `TIMESTAMP WITH TIME ZONE`). Declared types are spliced into SQL, so only this shape is accepted.
 */
export const duckdbTypePattern = /^[A-Za-z][A-Za-z0-9_]*( [A-Za-z]+)*(\(\s*\d+\s*(,\s*\d+\s*)?\))?(\[\])*$/;

/** A DuckDB result cell as text, for names, types and values quoted in messages. */
export function cellText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return `${value}`;
  if (value === null || value === undefined) return '';
  return JSON.stringify(value);
}
