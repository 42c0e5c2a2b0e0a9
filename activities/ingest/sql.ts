/** A quoted SQL identifier: column names come from users' files, so none is ever spliced in raw. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export { duckdbTypePattern } from '../../pipelines/ingest-params.js';

/** A DuckDB result cell as text, for names, types and values quoted in messages. */
export function cellText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return `${value}`;
  if (value === null || value === undefined) return '';
  return JSON.stringify(value);
}
