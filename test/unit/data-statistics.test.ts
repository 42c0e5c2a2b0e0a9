import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeStatistics } from '../../activities/statistics/compute-statistics.js';
import { statisticsHtml } from '../../activities/statistics/render-html.js';
import { statisticsMarkdown } from '../../activities/statistics/render-markdown.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { ColumnStatistics, DatasetStatistics } from '../../pipelines/statistics.js';
import { dataDir } from '../support/paths.js';
import { fixtureDir, parquetFile, peopleCsv, textFile } from './data-fixtures.js';

let dir: string;
let people: DatasetStatistics;
const column = (stats: DatasetStatistics, name: string): ColumnStatistics => {
  const found = stats.columns.find((c) => c.name === name);
  if (!found) throw new Error(`no column ${name}`);
  return found;
};

beforeAll(async () => {
  dir = await fixtureDir();
  const path = await textFile(dir, 'people.csv', peopleCsv);
  people = (await computeStatistics(path, { name: 'people.csv' })).statistics;
});

describe('statistics of a small CSV, against values worked out by hand', () => {
  it('types, rows and the two passes', () => {
    expect(people.rows).toBe(5);
    expect(people.columns.map((c) => [c.name, c.type, c.family])).toEqual([
      ['id', 'BIGINT', 'integer'],
      ['score', 'BIGINT', 'integer'],
      ['ratio', 'DOUBLE', 'float'],
      ['city', 'VARCHAR', 'string'],
      ['active', 'BOOLEAN', 'boolean'],
      ['day', 'DATE', 'date'],
    ]);
    expect(people.method).toMatchObject({ passes: 2, distinct: 'approximate', quantiles: 'exact' });
  });

  it('integers: 1, 2, 3, 4, 10', () => {
    const score = column(people, 'score');
    expect(score).toMatchObject({
      count: 5,
      nulls: 0,
      nullFraction: 0,
      distinct: 5,
      min: 1,
      max: 10,
      mean: 4,
    });
    // sample variance: (9 + 4 + 1 + 0 + 36) / 4 = 12.5
    expect(score.std).toBeCloseTo(Math.sqrt(12.5), 12);
    // linear interpolation at (n − 1)·q: p01 = 1 + 0.04·1, p95 = 4 + 0.8·6, p99 = 4 + 0.96·6
    const expected = { p01: 1.04, p05: 1.2, p25: 2, p50: 3, p75: 4, p95: 8.8, p99: 9.76 };
    for (const [name, value] of Object.entries(expected)) {
      expect(score.quantiles?.[name as keyof typeof expected]).toBeCloseTo(value, 12);
    }
    // a range of 10 integers gets one bin per integer, centred on it
    expect(score.histogram).toEqual({ lo: 0.5, hi: 10.5, counts: [1, 1, 1, 1, 0, 0, 0, 0, 0, 1] });
  });

  it('floats with a null: 0.5, 1.4, 2.6, 4.5', () => {
    const ratio = column(people, 'ratio');
    expect(ratio).toMatchObject({
      count: 4,
      nulls: 1,
      nullFraction: 0.2,
      min: 0.5,
      max: 4.5,
      nan: 0,
      posInf: 0,
      negInf: 0,
    });
    expect(ratio.mean).toBeCloseTo(2.25, 12);
    // squared deviations 3.0625 + 0.7225 + 0.1225 + 5.0625 = 8.97, over n − 1 = 3
    expect(ratio.std).toBeCloseTo(Math.sqrt(8.97 / 3), 12);
    expect(ratio.quantiles?.p50).toBeCloseTo(2.0, 12);
    // 20 bins of 0.2 from 0.5: 0.5 → bin 0, 1.4 → (1.3, 1.5] bin 4, 2.6 → (2.5, 2.7] bin 10, 4.5 → bin 19
    const counts = new Array<number>(20).fill(0);
    for (const bin of [0, 4, 10, 19]) counts[bin] = 1;
    expect(ratio.histogram).toEqual({ lo: 0.5, hi: 4.5, counts });
  });

  it('text: a complete frequency table, ties by value, lengths, nulls', () => {
    expect(column(people, 'city')).toMatchObject({
      count: 4,
      nulls: 1,
      min: 'oslo',
      max: 'rome',
      minLength: 4,
      maxLength: 5,
      topK: [
        { value: 'paris', count: 2 },
        { value: 'oslo', count: 1 },
        { value: 'rome', count: 1 },
      ],
      topKComplete: true,
    });
  });

  it('booleans and dates', () => {
    expect(column(people, 'active')).toMatchObject({
      count: 4,
      nulls: 1,
      min: false,
      max: true,
      topK: [
        { value: true, count: 3 },
        { value: false, count: 1 },
      ],
      topKComplete: true,
    });
    const day = column(people, 'day');
    expect(day).toMatchObject({ count: 5, min: '2024-01-01', max: '2024-01-09' });
    expect(day.quantiles).toMatchObject({ p25: '2024-01-03T00:00:00.000Z', p50: '2024-01-05T00:00:00.000Z' });
    expect(day.histogram).toMatchObject({
      lo: Date.UTC(2024, 0, 1),
      hi: Date.UTC(2024, 0, 9),
      unit: 'epoch-ms',
    });
    expect(day.histogram?.counts.reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('counts NaN and ±Infinity apart and summarises floats over finite values only', async () => {
    const path = await parquetFile(
      dir,
      'floats.parquet',
      `SELECT * FROM (VALUES (1.0::DOUBLE), ('nan'::DOUBLE), ('inf'::DOUBLE), ('-inf'::DOUBLE), (3.0::DOUBLE), (NULL)) t(x)`,
    );
    const { statistics } = await computeStatistics(path, { name: 'floats' });
    expect(column(statistics, 'x')).toMatchObject({
      count: 5,
      nulls: 1,
      nan: 1,
      posInf: 1,
      negInf: 1,
      min: 1,
      max: 3,
      mean: 2,
    });
    expect(column(statistics, 'x').histogram?.counts.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('keeps the k most frequent values with exact counts when there are more', async () => {
    const path = join(dataDir, 'seattle-weather.csv');
    const { statistics } = await computeStatistics(path, { name: 'seattle', topK: 2 });
    expect(statistics.rows).toBe(1461);
    expect(column(statistics, 'weather')).toMatchObject({
      topK: [
        { value: 'rain', count: 641 },
        { value: 'sun', count: 640 },
      ],
      topKComplete: false,
    });
  });

  it('an empty dataset has counts of zero and no extremes', async () => {
    const path = await parquetFile(
      dir,
      'empty.parquet',
      'SELECT 1::BIGINT AS a, 2.0::DOUBLE AS b WHERE false',
    );
    const { statistics } = await computeStatistics(path, { name: 'empty' });
    expect(statistics.rows).toBe(0);
    expect(column(statistics, 'a')).toMatchObject({
      count: 0,
      nulls: 0,
      nullFraction: 0,
      min: null,
      max: null,
      histogram: null,
    });
  });

  it('refuses a file DuckDB cannot read, naming it', async () => {
    const path = await textFile(dir, 'broken.parquet', 'not parquet at all');
    await expect(computeStatistics(path, { name: 'broken.parquet' })).rejects.toThrow(InvalidInputError);
    await expect(computeStatistics(path, { name: 'broken.parquet' })).rejects.toThrow(
      /dataset broken\.parquet .* cannot be read/,
    );
  });

  it('renders Markdown and self-contained HTML reports, escaping what comes from the data', async () => {
    const path = await textFile(dir, 'odd.csv', '"<b>name</b>",n\n"<script>x</script>",1\nok,2\n');
    const { statistics } = await computeStatistics(path, { name: 'odd.csv' });
    const html = statisticsHtml(statistics);
    expect(html).toContain('&lt;b&gt;name&lt;/b&gt;');
    expect(html).not.toContain('<script>');
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('<svg');
    const markdown = statisticsMarkdown(people);
    expect(markdown).toContain('# Statistics: people.csv');
    expect(markdown).toContain('| score | BIGINT | 0 (0.00%) | ≈5 | 1 | 10 | 4 | 3.53553 |');
    expect(markdown).toContain('| paris | 2 | 50.00% |');
  });
});
