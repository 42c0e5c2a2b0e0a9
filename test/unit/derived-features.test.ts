import { describe, expect, it } from 'vitest';
import { withDuckDB, sqlString } from '../../lib/duckdb.js';
import { compileFeatureProgram, featureInputColumns } from '../../lib/model/feature-program.js';
import { fromJson, parseTimestamp, type SqlValue } from '../../lib/model/sql-values.js';
import type { FittedTransform, SourceColumn } from '../../pipelines/transform.js';

/**
 * Serving computes derived features in JavaScript; training computed them in DuckDB. Every
 * expression here is evaluated both ways over rows full of edge cases (NULLs, zeros, negatives,
 * halves, dates around a year end) and must agree to the bit.
 */
const columns: SourceColumn[] = [
  { name: 'i', type: 'INTEGER' },
  { name: 'b', type: 'BIGINT' },
  { name: 'd', type: 'DOUBLE' },
  { name: 'temp_max', type: 'DOUBLE' },
  { name: 'temp_min', type: 'DOUBLE' },
  { name: 't', type: 'VARCHAR' },
  { name: 'flag', type: 'BOOLEAN' },
  { name: 'day', type: 'DATE' },
  { name: 'ts', type: 'TIMESTAMP' },
];

const rows: Record<string, unknown>[] = [
  {
    i: 7,
    b: 2,
    d: 2.5,
    temp_max: 10.6,
    temp_min: 2.8,
    t: 'Adelie',
    flag: true,
    day: '2001-01-14',
    ts: '2001-01-14 21:05:00',
  },
  {
    i: -7,
    b: 0,
    d: -2.5,
    temp_max: -1.1,
    temp_min: -7.3,
    t: ' 42 ',
    flag: false,
    day: '2000-12-31',
    ts: '2000-12-31 23:59:59.5',
  },
  {
    i: 0,
    b: -3,
    d: 0,
    temp_max: 0.1,
    temp_min: 0.2,
    t: '',
    flag: null,
    day: '2004-02-29',
    ts: '1999-03-01 00:00:00',
  },
  { i: null, b: null, d: null, temp_max: null, temp_min: 5, t: null, flag: null, day: null, ts: null },
  {
    i: 3,
    b: 1_000_000_007,
    d: 1e-9,
    temp_max: 33.3,
    temp_min: 33.3,
    t: 'Gentoo',
    flag: true,
    day: '1970-01-01',
    ts: '1969-12-31 12:30:00.123456',
  },
  {
    i: 2147483,
    b: 5,
    d: 3.5,
    temp_max: 1e6,
    temp_min: -1e6,
    t: 'ÉCLAIR ünï',
    flag: false,
    day: '2024-03-31',
    ts: '2024-03-31 06:00:00',
  },
];

const numericExpressions = [
  'temp_max - temp_min',
  'i / b',
  'i // b',
  'i % b',
  'd // 2',
  'd * 1.5',
  'i * 2 + b - 1',
  '-i',
  'abs(i - 10)',
  'sign(d)',
  'ln(1 + abs(d))',
  'sqrt(abs(temp_max))',
  'exp(d)',
  'pow(d, 2)',
  'd ^ 3',
  'log10(abs(i) + 1)',
  'round(d)',
  'round(temp_max, 1)',
  'round(temp_max * 100.0, -1)',
  'floor(d)',
  'ceil(temp_min)',
  'greatest(temp_max, temp_min, 0)',
  'least(i, b)',
  'coalesce(temp_max, temp_min, -1)',
  'nullif(i, 0)',
  'CASE WHEN temp_max > 10 THEN 1 WHEN temp_max > 0 THEN 0.5::DOUBLE ELSE -1 END',
  "CASE t WHEN 'Adelie' THEN 1 WHEN 'Gentoo' THEN 2 END",
  'CASE WHEN flag THEN i ELSE b END',
  'hour(ts)',
  'minute(ts) + second(ts)',
  'dayofweek(day)',
  'dayofweek(ts) IN (0, 6)',
  'month(day)',
  'year(ts) * 100 + month(ts)',
  'dayofyear(day)',
  'isodow(ts)',
  'quarter(day)',
  'extract(hour FROM ts)',
  "date_part('dow', day)",
  "day - DATE '2000-01-01'",
  "day > '2001-01-01'",
  "ts < '2001-01-01 00:00:00'",
  'i BETWEEN 0 AND 5',
  'i NOT IN (7, 3)',
  'i IN (7, NULL)',
  'd IS NULL',
  'NOT flag',
  'flag AND i > 0',
  'flag OR i > 0',
  'length(t)',
  "t = 'Adelie'",
  'TRY_CAST(t AS DOUBLE)',
  't',
  'CAST(d AS INTEGER)',
  'CAST(temp_max AS BIGINT) // 3',
  'CAST(flag AS DOUBLE)',
  'if(flag, temp_max, temp_min)',
  'isnan(d / d)',
  'd / 0',
  'i / 0',
];

const categoricalExpressions = [
  't',
  'lower(t)',
  'upper(t)',
  'trim(t)',
  "concat(t, '-', i)",
  "t || '/' || b",
  'substr(t, 2, 3)',
  'CAST(i AS VARCHAR)',
  'CAST(flag AS VARCHAR)',
  'CAST(day AS VARCHAR)',
  'CAST(ts AS VARCHAR)',
  'CAST(ts AS DATE)',
  'dayofweek(day)',
  "CASE WHEN i > 0 THEN 'up' WHEN i < 0 THEN 'down' END",
  "coalesce(t, 'none')",
  "starts_with(t, 'A')",
];

const literal = (value: unknown, type: string) =>
  value === null
    ? `NULL::${type}`
    : `CAST(${sqlString(JSON.stringify(value).replace(/^"|"$/g, ''))} AS ${type})`;

async function duckdbValues(expressions: string[], cast: 'DOUBLE' | 'VARCHAR'): Promise<unknown[][]> {
  return withDuckDB(async (db) => {
    const values = rows
      .map((row) => `(${columns.map((c) => literal(row[c.name], c.type)).join(', ')})`)
      .join(', ');
    await db.run(
      `CREATE TABLE source AS SELECT * FROM (VALUES ${values}) v(${columns.map((c) => c.name).join(', ')})`,
    );
    const select = expressions
      .map(
        (e, k) =>
          (cast === 'DOUBLE' ? `TRY_CAST((${e}) AS DOUBLE)` : `CAST((${e}) AS VARCHAR)`) + ` AS e${k}`,
      )
      .join(', ');
    const result = await db.runAndReadAll(`SELECT ${select} FROM source`);
    return result.getRowObjectsJS().map((r) => expressions.map((_, k) => r[`e${k}`]));
  });
}

function transformOf(numeric: string[], categorical: string[]): FittedTransform & { inputs: SourceColumn[] } {
  return {
    version: 1,
    numeric: numeric.map((sql, k) => ({
      name: `n${k}`,
      sql,
      fill: 0,
      mean: 0,
      std: 1,
      indicator: false,
      missingRate: 0,
    })),
    categorical: categorical.map((sql, k) => ({
      name: `c${k}`,
      sql,
      encoding: 'one-hot' as const,
      vocabulary: [],
    })),
    label: { task: 'binary', sql: 'flag', classes: ['0', '1'] },
    fittedOnRows: rows.length,
    inputs: columns,
  };
}

function served(transform: FittedTransform & { inputs: SourceColumn[] }): Record<string, unknown>[] {
  const program = compileFeatureProgram(transform);
  return rows.map((row) => {
    const values = program.inputs.map((c) => fromJson(row[c.name], c.type) as SqlValue);
    return program.compute(values);
  });
}

describe('derived features computed in JavaScript as DuckDB computes them', () => {
  it('agrees to the bit with DuckDB on numeric expressions over edge-case rows', async () => {
    const batch = await duckdbValues(numericExpressions, 'DOUBLE');
    const online = served(transformOf(numericExpressions, []));
    rows.forEach((_, r) => {
      numericExpressions.forEach((sql, k) => {
        expect(online[r]?.[`n${k}`], `${sql} on row ${r}`).toEqual(batch[r]?.[k]);
      });
    });
  });

  it('agrees with DuckDB on the text form of categorical expressions', async () => {
    const batch = await duckdbValues(categoricalExpressions, 'VARCHAR');
    const online = served(transformOf([], categoricalExpressions));
    rows.forEach((_, r) => {
      categoricalExpressions.forEach((sql, k) => {
        expect(online[r]?.[`c${k}`], `${sql} on row ${r}`).toEqual(batch[r]?.[k]);
      });
    });
  });

  it('lists the source columns a model needs and which features are derived', () => {
    const transform = transformOf(['temp_max - temp_min', 'd'], ['T']);
    const inputs = featureInputColumns(transform, columns);
    expect(inputs.map((c) => c.name)).toEqual(['temp_max', 'temp_min', 'd', 't']);
    const program = compileFeatureProgram({ ...transform, inputs });
    expect(program.derived).toEqual([
      { name: 'n0', sql: 'temp_max - temp_min', reads: ['temp_max', 'temp_min'] },
      { name: 'n1', sql: 'd', reads: ['d'] },
      { name: 'c0', sql: 'T', reads: ['t'] },
    ]);
  });

  it('refuses, naming the feature and the fix, what it cannot reproduce exactly', () => {
    const refuse = (sql: string) => () => featureInputColumns(transformOf([sql], []), columns);
    expect(refuse('i * 1.5')).toThrow(/feature "n0".*DECIMAL.*1\.5::DOUBLE/);
    expect(refuse('md5(t)')).toThrow(/function md5\(\) is not one serving can compute/);
    expect(refuse("t LIKE 'A%'")).toThrow(/LIKE.*not supported/);
    expect(refuse('(SELECT 1)')).toThrow(/subqueries are not supported/);
    expect(refuse('ts')).toThrow(/TIMESTAMP, not a number/);
    expect(refuse('nosuch + 1')).toThrow(/reads "nosuch", which the source does not have/);
    expect(() => featureInputColumns(transformOf([], ['CAST(d AS VARCHAR)']), columns)).toThrow(
      /casting a double to VARCHAR/,
    );
  });

  it('parses request timestamps as DuckDB casts them, offsets converted to UTC', () => {
    expect(parseTimestamp('2001-01-14T21:00:00Z')).toBe(parseTimestamp('2001-01-14 21:00:00'));
    expect(parseTimestamp('2001-01-14 23:00:00+02:00')).toBe(parseTimestamp('2001-01-14 21:00'));
    expect(parseTimestamp('2001-02-30')).toBeNull();
    expect(parseTimestamp('14/01/2001')).toBeNull();
  });
});

describe('a feature SQL serving cannot compute is refused at definition', () => {
  it('names the construct when the pipeline is defined, before any run', async () => {
    const { featuresSchema } = await import('../../pipelines/train-spec.js');
    const parsed = featuresSchema.safeParse({ numeric: [{ name: 'x', sql: "origin LIKE 'S%'" }] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(
      /serving cannot compute "origin LIKE 'S%'": LIKE, ILIKE, SIMILAR TO and GLOB are not supported/,
    );
    expect(featuresSchema.safeParse({ numeric: [{ name: 'r', sql: 'temp_max - temp_min' }] }).success).toBe(
      true,
    );
  });
});
