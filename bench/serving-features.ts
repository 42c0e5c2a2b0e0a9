import type { DuckDBConnection } from '@duckdb/node-api';
import { withDuckDB } from '../lib/duckdb.js';
import type { FittedTransform, SourceColumn } from '../pipelines/transform.js';
import { featureInputsSql } from '../activities/train/transform-sql.js';
import { sqlIdent } from '../activities/train/source.js';
import { compileRawInstanceReader } from '../serving/raw-instances.js';

/** Per-request cost of computing a model's features from a request's source columns, both ways. */
export interface FeatureCost {
  batch: number;
  compiledUs: number;
  duckdbUs: number;
}

/**
 * How long computing the features of one request takes: with the compiled expressions serving uses
 * (the model's compiled instance reader: JSON values checked and read, every feature computed), against DuckDB in process over the request's rows
 * (one prepared `SELECT … FROM (VALUES …)` per request, the other design issue 14 offered).
 */
export async function measureFeatureCost(
  transform: FittedTransform & { inputs: SourceColumn[] },
  row: Record<string, unknown>,
  batches: number[],
): Promise<FeatureCost[]> {
  const read = compileRawInstanceReader(transform);
  const out: FeatureCost[] = [];
  await withDuckDB(async (db) => {
    for (const batch of batches) {
      const rows = Array.from({ length: batch }, () => row);
      const compiled = time(20_000 / batch, () => read(rows));
      const duckdb = await timeAsync(2_000 / Math.sqrt(batch), () => duckdbFeatures(db, transform, rows));
      out.push({ batch, compiledUs: compiled, duckdbUs: duckdb });
    }
  });
  return out;
}

async function duckdbFeatures(
  db: DuckDBConnection,
  transform: FittedTransform & { inputs: SourceColumn[] },
  rows: Record<string, unknown>[],
): Promise<unknown[]> {
  const columns = transform.inputs;
  const values = rows
    .map((r) => `(${columns.map((c) => `CAST(${sqlValue(r[c.name])} AS ${c.type})`).join(', ')})`)
    .join(', ');
  const names = columns.map((c) => sqlIdent(c.name)).join(', ');
  const reader = await db.runAndReadAll(
    `SELECT ${featureInputsSql(transform).join(', ')} FROM (VALUES ${values}) AS source(${names})`,
  );
  return reader.getRowObjectsJS();
}

function sqlValue(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `'${JSON.stringify(value).replace(/^"|"$/g, '').replaceAll("'", "''")}'`;
}

/** Mean microseconds per call over `n` calls, after a warm-up of the same size. */
function time(n: number, f: () => void): number {
  const calls = Math.max(10, Math.round(n));
  for (let i = 0; i < calls; i++) f();
  const started = performance.now();
  for (let i = 0; i < calls; i++) f();
  return ((performance.now() - started) * 1000) / calls;
}

async function timeAsync(n: number, f: () => Promise<unknown>): Promise<number> {
  const calls = Math.max(10, Math.round(n));
  for (let i = 0; i < Math.min(calls, 50); i++) await f();
  const started = performance.now();
  for (let i = 0; i < calls; i++) await f();
  return ((performance.now() - started) * 1000) / calls;
}
