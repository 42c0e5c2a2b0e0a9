import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/**
 * Run `fn` on a fresh in-process DuckDB (docs/architecture.md decision 7: DuckDB is the compute engine, not a
 * shared database file). The instance is closed whatever happens.
 */
export async function withDuckDB<T>(fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  try {
    return await fn(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
