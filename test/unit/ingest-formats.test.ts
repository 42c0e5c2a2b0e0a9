import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { List, Field, Int32, Table, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlString } from '../../lib/duckdb.js';
import { sha256File } from '../../lib/hash.js';
import { ingestDataset } from '../../activities/ingest/index.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { dataDir } from '../support/paths.js';
import { arrowChecks, arrowFixture } from './ingest-arrow-table.js';
import { querySnapshot, workspace, type Workspace } from './ingest-fixtures.js';

let ws: Workspace;

beforeAll(async () => {
  ws = await workspace();
});

afterAll(async () => {
  await ws.cleanup();
});

const columns = (schema: { name: string; type: string }[] | undefined) =>
  (schema ?? []).map((c) => `${c.name}:${c.type}`);

describe('ingest: one canonical zstd Parquet snapshot from every format', () => {
  it('CSV (dialect and types detected), with the source hash recorded', async () => {
    const source = join(dataDir, 'seattle-weather.csv');
    const result = await ingestDataset({ source }, ws.deps);
    expect(result.dataset).toMatchObject({ kind: 'dataset', format: 'parquet', rows: 1461 });
    expect(columns(result.dataset.schema)).toEqual([
      'date:DATE',
      'precipitation:DOUBLE',
      'temp_max:DOUBLE',
      'temp_min:DOUBLE',
      'wind:DOUBLE',
      'weather:VARCHAR',
    ]);
    expect(result.source).toEqual({ path: source, format: 'csv', ...(await sha256File(source)) });
    expect(result.warnings).toEqual([]);

    const path = await ws.store.open(result.dataset);
    expect((await sha256File(path)).sha256).toBe(result.dataset.sha256);
    const [meta] = await querySnapshot(
      ws.store,
      result.dataset,
      (r) =>
        `SELECT count(*) AS n, min(date)::VARCHAR AS first, any_value(compression) AS codec FROM ${r}, ` +
        `parquet_metadata(${sqlString(path)})`,
    );
    expect(meta).toMatchObject({ first: '2012-01-01', codec: 'ZSTD' });
  });

  it('TSV', async () => {
    const result = await ingestDataset({ source: join(dataDir, 'unemployment.tsv') }, ws.deps);
    expect(result.dataset.rows).toBe(3218);
    expect(columns(result.dataset.schema)).toEqual(['id:BIGINT', 'rate:DOUBLE']);
  });

  it('CSV with a declared dialect: semicolons, single quotes, no header, declared types', async () => {
    const source = await ws.write('dialect.txt', "01234;'Main St; No. 5'\n00501;'x'\n");
    const result = await ingestDataset(
      {
        source,
        format: 'csv',
        csv: { delimiter: ';', quote: "'", header: false },
        types: { column0: 'VARCHAR' },
      },
      ws.deps,
    );
    expect(columns(result.dataset.schema)).toEqual(['column0:VARCHAR', 'column1:VARCHAR']);
    const rows = await querySnapshot(ws.store, result.dataset, (r) => `SELECT * FROM ${r}`);
    expect(rows).toEqual([
      { column0: '01234', column1: 'Main St; No. 5' },
      { column0: '00501', column1: 'x' },
    ]);
  });

  it('Parquet: 3 million flights', async () => {
    const result = await ingestDataset({ source: join(dataDir, 'flights-3m.parquet') }, ws.deps);
    expect(result.dataset.rows).toBe(3_000_000);
    expect(columns(result.dataset.schema)).toEqual([
      'date:TIMESTAMP',
      'delay:BIGINT',
      'distance:BIGINT',
      'origin:VARCHAR',
      'destination:VARCHAR',
    ]);
  });

  it('Arrow IPC file: the 200k flights, every value as apache-arrow reads it', async () => {
    const source = join(dataDir, 'flights-200k.arrow');
    const result = await ingestDataset({ source }, ws.deps);
    expect(result.dataset.rows).toBe(200_000);
    expect(columns(result.dataset.schema)).toEqual(['delay:SMALLINT', 'distance:SMALLINT', 'time:FLOAT']);
    const table = tableFromIPC(await readFile(source));
    let delay = 0;
    let distance = 0;
    for (const value of table.getChild('delay')!) delay += value ?? 0;
    for (const value of table.getChild('distance')!) distance += value ?? 0;
    const [sums] = await querySnapshot(
      ws.store,
      result.dataset,
      (r) => `SELECT sum(delay)::DOUBLE AS delay, sum(distance)::DOUBLE AS distance FROM ${r}`,
    );
    expect(sums).toEqual({ delay, distance });
  });

  it('Arrow IPC file and stream: every supported type, nulls, NaN/Infinity, two batches', async () => {
    const table = arrowFixture();
    const file = await ws.write('types.arrow', tableToIPC(table, 'file'));
    const stream = await ws.write('types.arrows', tableToIPC(table, 'stream'));
    const fromFile = await ingestDataset({ source: file }, ws.deps);
    const fromStream = await ingestDataset({ source: stream }, ws.deps);
    // Same rows, same snapshot: content addressing sees through the container layout.
    expect(fromStream.dataset).toEqual(fromFile.dataset);
    expect(fromFile.dataset.rows).toBe(5000);
    expect(columns(fromFile.dataset.schema)).toEqual([
      'i:INTEGER',
      'i8:TINYINT',
      'i64:BIGINT',
      'u64:UBIGINT',
      'f16:FLOAT',
      'f32:FLOAT',
      'f64:DOUBLE',
      'b:BOOLEAN',
      's:VARCHAR',
      'dict:VARCHAR',
      'bin:BLOB',
      'd:DATE',
      'dms:DATE',
      'ts_s:TIMESTAMP_S',
      'ts_ms:TIMESTAMP_MS',
      'ts_us:TIMESTAMP',
      'ts_ns:TIMESTAMP_NS',
      'tz:TIMESTAMP WITH TIME ZONE',
    ]);
    const checks = Object.entries(arrowChecks)
      .map(([column, check]) => `count(*) FILTER (WHERE ${check}) AS ${column}`)
      .join(', ');
    const [counts] = await querySnapshot(ws.store, fromFile.dataset, (r) => `SELECT ${checks} FROM ${r}`);
    expect(counts).toEqual(Object.fromEntries(Object.keys(arrowChecks).map((c) => [c, 5000n])));
  });

  it('Arrow IPC with a type ingest does not convert names the column and the fix', async () => {
    const lists = new Table({
      id: vectorFromArray([1, 2], new Int32()),
      tags: vectorFromArray([[1], [2, 3]], new List(new Field('item', new Int32()))),
    });
    const source = await ws.write('lists.arrow', tableToIPC(lists, 'file'));
    const refused = await ingestDataset({ source }, ws.deps).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InvalidInputError);
    expect((refused as Error).message).toMatch(/column "tags" has Arrow type List<Int32>.*export Parquet/);
  });

  it('JSON array and NDJSON', async () => {
    const json = await ingestDataset({ source: join(dataDir, 'penguins.json') }, ws.deps);
    expect(json.dataset.rows).toBe(344);
    expect(columns(json.dataset.schema)).toContain('Beak Length (mm):DOUBLE');
    const source = await ws.write(
      'events.ndjson',
      '{"id":1,"kind":"a"}\n{"id":2,"kind":"b"}\n\n{"id":3,"kind":null}\n',
    );
    const ndjson = await ingestDataset({ source }, ws.deps);
    expect(ndjson.dataset.rows).toBe(3);
    expect(columns(ndjson.dataset.schema)).toEqual(['id:BIGINT', 'kind:VARCHAR']);
  });

  it('runs the SQL transform over the view "source" (feature engineering)', async () => {
    const result = await ingestDataset(
      {
        source: join(dataDir, 'seattle-weather.csv'),
        sql: `SELECT date, temp_max - temp_min AS spread, weather = 'rain' AS rainy FROM source WHERE wind > 5;`,
      },
      ws.deps,
    );
    expect(columns(result.dataset.schema)).toEqual(['date:DATE', 'spread:DOUBLE', 'rainy:BOOLEAN']);
    const [check] = await querySnapshot(
      ws.store,
      result.dataset,
      (r) => `SELECT count(*) AS n, round(max(spread), 1) AS widest FROM ${r}`,
    );
    expect(Number(check!['n'])).toBe(result.dataset.rows);
    expect(result.dataset.rows).toBeGreaterThan(0);
    expect(result.dataset.rows).toBeLessThan(1461);
    expect(check!['widest']).toBeGreaterThan(0);
  });

  it('NaN and ±Infinity pass through unharmed (contract checks decide about them later)', async () => {
    const csv = await ws.write('odd.csv', 'a,b\n1,NaN\n2,Infinity\n3,-inf\n4,1.5\n');
    const json = await ws.write('odd.json', '[{"b":1.5},{"b":NaN},{"b":Infinity},{"b":-Infinity}]');
    for (const source of [csv, json]) {
      const result = await ingestDataset({ source }, ws.deps);
      const [counts] = await querySnapshot(
        ws.store,
        result.dataset,
        (r) =>
          `SELECT count(*) FILTER (WHERE isnan(b)) AS nan, count(*) FILTER (WHERE isinf(b)) AS inf FROM ${r}`,
      );
      expect(counts).toEqual({ nan: 1n, inf: 2n });
    }
  });

  it('addresses snapshots by content: the same data twice, even under another name, is one file', async () => {
    const source = join(dataDir, 'unemployment.tsv');
    const copy = await ws.write('copy-of-unemployment.tsv', await readFile(source));
    const first = await ingestDataset({ source }, ws.deps);
    const stored = await ws.storeFiles();
    const again = await ingestDataset({ source: copy }, ws.deps);
    expect(again.dataset).toEqual(first.dataset);
    expect(again.source.path).not.toBe(first.source.path);
    expect(await ws.storeFiles()).toEqual(stored);
    expect(stored.filter((f) => f.startsWith('.staging'))).toEqual([]);
    expect(stored.filter((f) => f.includes(first.dataset.sha256))).toHaveLength(2); // bytes + sidecar
  });
});
