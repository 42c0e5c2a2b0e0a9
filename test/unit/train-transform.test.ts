import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withDuckDB } from '../../lib/duckdb.js';
import { hash32, hash32Sql } from '../../lib/model/hash-bucket.js';
import { loadMatrix } from '../../activities/train/load-matrix.js';
import { prepareDataset, ROWS_VIEW } from '../../activities/train/prepare.js';
import { splitSql } from '../../activities/train/split.js';
import { transformRow } from '../../lib/model/transform-online.js';
import { featureInputsSql, labelSql } from '../../activities/train/transform-sql.js';
import { DataValidationError, InvalidInputError } from '../../pipelines/errors.js';
import { featuresSchema, labelSchema, splitSchema } from '../../pipelines/train-spec.js';
import { transformOutputNames } from '../../pipelines/transform.js';
import { dataDir } from '../support/paths.js';

const penguins = join(dataDir, 'penguins.json');
const penguinKey = `concat_ws('|', Species, Island, "Beak Length (mm)", "Beak Depth (mm)", "Flipper Length (mm)", "Body Mass (g)", Sex)`;
const penguinSpec = {
  features: featuresSchema.parse({
    numeric: [
      'Beak Length (mm)',
      'Flipper Length (mm)',
      { name: 'mass', sql: '"Body Mass (g)"', impute: 'median' },
    ],
    categorical: [
      'Island',
      'Sex',
      { name: 'island_hashed', sql: 'Island', encoding: 'hash', hashBuckets: 8 },
    ],
  }),
  label: labelSchema.parse({ column: 'Species', task: 'multiclass' }),
  split: splitSchema.parse({ kind: 'hash', key: penguinKey, seed: 7, validation: 0.15, test: 0.15 }),
};

/** A file with every awkward value: NaN, ±Infinity, empty, unseen categories, NULL categories. */
async function awkwardCsv(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-transform-'));
  const lines = ['id,x,c,y'];
  const xs = ['1.5', 'nan', '', 'inf', '-2.25', '3', '1e-7', '-inf', '0.1', '7'];
  const cs = ['a', 'b', '', 'a', 'c', 'zz', 'a', 'b', 'q', 'a'];
  for (let i = 0; i < 200; i++) lines.push(`${i},${xs[i % 10]},${cs[(i * 7) % 10]},${i % 3 === 0 ? 1 : 0}`);
  const path = join(dir, 'awkward.csv');
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

describe('feature transform', () => {
  it('gives bit-identical features in batch (DuckDB SQL) and online (JS) on the same rows', async () => {
    for (const [path, spec] of [
      [penguins, penguinSpec],
      [
        await awkwardCsv(),
        {
          features: featuresSchema.parse({
            numeric: [{ name: 'x', indicator: true }],
            categorical: [
              { name: 'c', topK: 2 },
              { name: 'ch', sql: 'c', encoding: 'hash', hashBuckets: 5 },
            ],
          }),
          label: labelSchema.parse({ sql: 'y = 1', task: 'binary' }),
          split: splitSchema.parse({ kind: 'hash', key: 'id', seed: 1 }),
        },
      ],
    ] as const) {
      await withDuckDB(async (db) => {
        const prepared = await prepareDataset(db, path, spec);
        const batch = await loadMatrix(db, prepared.transform, ROWS_VIEW);
        const inputs = await db.runAndReadAll(
          `SELECT ${featureInputsSql(prepared.transform).join(', ')} FROM ${ROWS_VIEW} WHERE ${labelSql(prepared.transform.label)} IS NOT NULL`,
        );
        const rows = inputs.getRowObjectsJS();
        expect(rows.length).toBe(batch.rows);
        expect(batch.rows).toBeGreaterThan(100);
        rows.forEach((row, r) => {
          const online = transformRow(prepared.transform, row);
          expect(online).toEqual(batch.x.subarray(r * batch.width, (r + 1) * batch.width));
        });
      });
    }
  });

  it('fits on the training split only, imputes with indicators and keeps a top-K vocabulary with OOV', async () => {
    const path = await awkwardCsv();
    await withDuckDB(async (db) => {
      const spec = {
        features: featuresSchema.parse({ numeric: ['x'], categorical: [{ name: 'c', topK: 2 }] }),
        label: labelSchema.parse({ sql: 'y = 1', task: 'binary' }),
        split: splitSchema.parse({ kind: 'hash', key: 'id', seed: 1 }),
      };
      const { transform } = await prepareDataset(db, path, spec);
      const stats = await db.runAndReadAll(
        `SELECT avg(x) FILTER (WHERE isfinite(x)), stddev_pop(x) FILTER (WHERE isfinite(x)) FROM ${ROWS_VIEW} WHERE __split = 'train'`,
      );
      const [[mean], [std]] = stats.getColumnsJS() as [[number], [number]];
      const x = transform.numeric[0]!;
      expect(x.mean).toBe(mean);
      expect(x.std).toBe(std);
      expect(x.indicator).toBe(true); // the training split had NaN, ±inf and empty values
      expect(x.missingRate).toBeCloseTo(0.4, 1);
      expect(transform.categorical[0]).toMatchObject({ encoding: 'one-hot', vocabulary: ['a', 'b'] });
      expect(transformOutputNames(transform)).toEqual(['x', 'x__missing', 'c=a', 'c=b', 'c__oov']);
      // Missing → the mean → 0 after standardisation, flagged; unseen category → OOV.
      expect(Array.from(transformRow(transform, { x: null, c: 'never-seen' }))).toEqual([0, 1, 0, 0, 1]);
      expect(Array.from(transformRow(transform, { x: mean + std, c: 'b' }))).toEqual([1, 0, 0, 1, 0]);
    });
  });

  it('names the pipeline file, the field, the source file behind a snapshot, and a near column name', async () => {
    const path = await awkwardCsv();
    const spec = {
      features: featuresSchema.parse({ numeric: ['x'], categorical: ['cc'] }),
      label: labelSchema.parse({ column: 'why', task: 'binary' }),
      split: splitSchema.parse({ kind: 'hash', key: 'id', seed: 1 }),
    };
    const context = { where: 'step "train" of pipelines/awkward.pipeline.ts', origin: 'data/awkward.csv' };
    const feature = await withDuckDB((db) => prepareDataset(db, path, spec, context)).catch(
      (e: unknown) => e,
    );
    expect(feature).toBeInstanceOf(InvalidInputError);
    expect((feature as Error).message).toBe(
      `feature "cc" (features.categorical[0] of step "train" of pipelines/awkward.pipeline.ts) is not a column of ` +
        `data/awkward.csv (snapshot ${path}): did you mean "c"? the columns are id, x, c, y; fix the name or give "sql"`,
    );
    const label = await withDuckDB((db) =>
      prepareDataset(db, path, { ...spec, features: featuresSchema.parse({ numeric: ['x'] }) }, context),
    ).catch((e: unknown) => e);
    expect((label as Error).message).toMatch(
      /^label column "why" \(label\.column of step "train" of pipelines\/awkward\.pipeline\.ts\) is not a column of data\/awkward\.csv \(snapshot .*\): did you mean "y"\?/,
    );
  });

  it('refuses unusable data with a clear, non-retryable error', async () => {
    const path = await awkwardCsv();
    const base = {
      features: featuresSchema.parse({ numeric: ['x'] }),
      label: labelSchema.parse({ sql: 'y = 1', task: 'binary' }),
      split: splitSchema.parse({ kind: 'hash', key: 'id', seed: 1 }),
    };
    const attempt = (change: Partial<typeof base>) =>
      withDuckDB((db) => prepareDataset(db, path, { ...base, ...change })).catch((e: unknown) => e);
    const cases: [Partial<typeof base>, unknown, RegExp][] = [
      [
        { features: featuresSchema.parse({ numeric: ['nope'] }) },
        InvalidInputError,
        /feature "nope" \(features\.numeric\[0\]\) is not a column.*id, x, c, y/,
      ],
      [
        { label: labelSchema.parse({ sql: 'id >= 0', task: 'binary' }) },
        DataValidationError,
        /is constant \(1\)/,
      ],
      [
        { label: labelSchema.parse({ sql: 'CAST(NULL AS INTEGER)', task: 'binary' }) },
        DataValidationError,
        /missing \(NULL\) on every training row/,
      ],
      [
        { label: labelSchema.parse({ column: 'label', task: 'binary' }) },
        InvalidInputError,
        /label column "label" \(label\.column\) is not a column/,
      ],
      [
        { label: labelSchema.parse({ sql: 'id', task: 'binary' }) },
        DataValidationError,
        /must be boolean or 0\/1/,
      ],
      [
        { features: featuresSchema.parse({ numeric: [{ name: 'n', sql: "CAST('nan' AS DOUBLE)" }] }) },
        DataValidationError,
        /"n" has no usable value/,
      ],
      [
        { features: featuresSchema.parse({ categorical: [{ name: 'k', sql: "'same'" }] }) },
        DataValidationError,
        /"k" has a single value/,
      ],
      [
        { features: featuresSchema.parse({ numeric: [{ name: 's', sql: 'nosuch + 1' }] }) },
        InvalidInputError,
        /feature "s" \(nosuch \+ 1\) is not valid SQL/,
      ],
      [
        { split: splitSchema.parse({ kind: 'hash', key: 'id', validation: 0.1, test: 0.01 }) },
        DataValidationError,
        /test split .* has \d labelled rows, fewer than the 5 needed/,
      ],
    ];
    for (const [change, type, message] of cases) {
      const error = await attempt(change);
      expect(error, String(message)).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(message);
      expect((error as InvalidInputError).retryable).toBe(false);
    }
  });
});

describe('splits', () => {
  it('hash split: stable across reruns, seed-dependent, honours fractions, and matches the JS hash', async () => {
    const flights = join(dataDir, 'flights-3m.parquet');
    const split = splitSchema.parse({
      kind: 'hash',
      key: 'origin || destination || date',
      seed: 3,
      validation: 0.2,
      test: 0.1,
    });
    if (split.kind !== 'hash') throw new Error('a hash split');
    const assign = (seed: number) =>
      withDuckDB(async (db) => {
        const r = await db.runAndReadAll(
          `SELECT ${splitSql({ ...split, seed })} AS s FROM read_parquet('${flights}') LIMIT 20000`,
        );
        return (r.getColumnsJS()[0] ?? []).map(String);
      });
    const first = await assign(3);
    expect(await assign(3)).toEqual(first);
    const other = await assign(4);
    expect(other.filter((s, i) => s !== first[i]).length).toBeGreaterThan(5000);
    const share = (name: string) => first.filter((s) => s === name).length / first.length;
    expect(share('train')).toBeCloseTo(0.7, 1);
    expect(share('validation')).toBeCloseTo(0.2, 1);
    expect(share('test')).toBeCloseTo(0.1, 1);
    await withDuckDB(async (db) => {
      const r = await db.runAndReadAll(`SELECT ${hash32Sql("'ATL|42'")}`);
      expect(Number(r.getColumnsJS()[0]?.[0])).toBe(hash32('ATL|42'));
    });
  });

  it('time split puts the past in training and the future in test; k-fold folds partition the non-test rows', async () => {
    const weather = join(dataDir, 'seattle-weather.csv');
    await withDuckDB(async (db) => {
      const time = splitSchema.parse({
        kind: 'time',
        column: 'date',
        validationFrom: '2014-07-01',
        testFrom: '2015-01-01',
      });
      const r = await db.runAndReadAll(
        `SELECT s, min(date)::VARCHAR, max(date)::VARCHAR FROM (SELECT date, ${splitSql(time)} AS s FROM read_csv_auto('${weather}')) GROUP BY s ORDER BY 2`,
      );
      expect(r.getRows().map((row) => row.map(String))).toEqual([
        ['train', '2012-01-01', '2014-06-30'],
        ['validation', '2014-07-01', '2014-12-31'],
        ['test', '2015-01-01', '2015-12-31'],
      ]);
      const folds = [0, 1, 2, 3].map((fold) =>
        splitSql(splitSchema.parse({ kind: 'kfold', key: 'date', k: 4, fold, test: 0.2 })),
      );
      const f = await db.runAndReadAll(
        `SELECT ${folds.map((s, i) => `${s} AS f${i}`).join(', ')} FROM read_csv_auto('${weather}')`,
      );
      const rows = f.getRows().map((row) => row.map(String));
      for (const row of rows) {
        const tests = row.filter((s) => s === 'test').length;
        // A test row is test in every fold; any other row validates in exactly one fold.
        if (tests > 0) expect(tests).toBe(4);
        else expect(row.filter((s) => s === 'validation').length).toBe(1);
      }
      expect(rows.filter((row) => row[0] === 'test').length / rows.length).toBeCloseTo(0.2, 1);
    });
  });
});
