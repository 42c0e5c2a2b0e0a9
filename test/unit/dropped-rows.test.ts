import { describe, expect, it } from 'vitest';
import { withDuckDB } from '../../lib/duckdb.js';
import { loadMatrix } from '../../activities/train/load-matrix.js';
import { prepareDataset, ROWS_VIEW } from '../../activities/train/prepare.js';
import { splitSql } from '../../activities/train/split.js';
import { DataValidationError } from '../../pipelines/errors.js';
import { featuresSchema, labelSchema, parseOrThrow, splitSchema } from '../../pipelines/train-spec.js';
import { fixtureDir, parquetFile } from './data-fixtures.js';

const split = splitSchema.parse({ kind: 'hash', key: 'k', seed: 3 });
const features = featuresSchema.parse({ numeric: ['x'] });

/**
 * 2,000 rows: every tenth has no label, every fiftieth (offset 3) no split key, and every seventh row
 * that lands in validation or test says "n/a" — a label training never saw, so it cannot be used.
 */
async function leakyData(): Promise<string> {
  const rows = `SELECT i, CASE WHEN i % 50 = 3 THEN NULL ELSE i END AS k, (i * 37 % 101)::DOUBLE AS x FROM range(2000) t(i)`;
  return parquetFile(
    await fixtureDir(),
    'leaky.parquet',
    `SELECT k, x,
            CASE WHEN i % 10 = 0 THEN NULL
                 WHEN ${splitSql(split)} IN ('validation', 'test') AND i % 7 = 0 THEN 'n/a'
                 WHEN x > 50 THEN '1' ELSE '0' END AS y
     FROM (${rows})`,
  );
}

async function expected(path: string) {
  return withDuckDB(async (db) => {
    const reader = await db.runAndReadAll(
      `SELECT count(*) FILTER (WHERE k IS NULL)::INTEGER, count(*) FILTER (WHERE k IS NOT NULL AND y IS NULL)::INTEGER,
              count(*) FILTER (WHERE k IS NOT NULL AND y = 'n/a')::INTEGER FROM read_parquet('${path}')`,
    );
    const [noSplit, missingLabel, unusableLabel] = reader.getRowsJS()[0] as number[];
    return { noSplit: noSplit!, missingLabel: missingLabel!, unusableLabel: unusableLabel! };
  });
}

describe('rows left out of training are counted and said, never dropped in silence', () => {
  it('counts rows with no label, an unusable label or no split, and the splits hold exactly the rest', async () => {
    const path = await leakyData();
    const want = await expected(path);
    expect(want.noSplit).toBe(40);
    expect(want.missingLabel).toBe(200);
    expect(want.unusableLabel).toBeGreaterThan(10);
    await withDuckDB(async (db) => {
      const label = labelSchema.parse({ column: 'y', task: 'binary' });
      const prepared = await prepareDataset(db, path, { features, label, split });
      expect(prepared.dropped).toEqual({ source: 2000, ...want });
      const kept = prepared.rows.train + prepared.rows.validation + prepared.rows.test;
      expect(kept).toBe(2000 - want.noSplit - want.missingLabel - want.unusableLabel);
      // The counts are what the loaders really read.
      for (const name of ['train', 'validation', 'test'] as const) {
        const matrix = await loadMatrix(db, prepared.transform, ROWS_VIEW, { where: `__split = '${name}'` });
        expect(matrix.rows).toBe(prepared.rows[name]);
      }
      const total = want.noSplit + want.missingLabel + want.unusableLabel;
      expect(prepared.warnings).toEqual([
        `${total} of 2,000 rows of ${path} (${((100 * total) / 2000).toFixed(1)}%) were left out of training and evaluation: ` +
          `200 with no label ("y" is NULL); ${want.unusableLabel} whose label is not a number; 40 in no split (the split key (k) is NULL)`,
      ]);
    });
  });

  it('refuses more unlabelled rows than label.maxMissingFraction allows, naming the counts and the fix', async () => {
    const path = await leakyData();
    const want = await expected(path);
    const unlabelled = want.missingLabel + want.unusableLabel;
    await withDuckDB(async (db) => {
      const strict = labelSchema.parse({ column: 'y', task: 'binary', maxMissingFraction: 0.1 });
      const refusal = prepareDataset(db, path, { features, label: strict, split }, { where: 'step "train"' });
      await expect(refusal).rejects.toBeInstanceOf(DataValidationError);
      await expect(refusal).rejects.toThrow(
        `${unlabelled} of 2,000 rows of ${path} (${((100 * unlabelled) / 2000).toFixed(1)}%) have no usable label ` +
          `("y": 200 NULL, ${want.unusableLabel} unusable), more than label.maxMissingFraction 0.1 of step "train" allows`,
      );
      const lenient = labelSchema.parse({ column: 'y', task: 'binary', maxMissingFraction: 0.2 });
      const prepared = await prepareDataset(db, path, { features, label: lenient, split });
      expect(prepared.dropped.missingLabel).toBe(200);
    });
  });

  it('says nothing when every row is used', async () => {
    const path = await parquetFile(
      await fixtureDir(),
      'clean.parquet',
      `SELECT i AS k, (i % 13)::DOUBLE AS x, (i % 2 = 0) AS y FROM range(500) t(i)`,
    );
    await withDuckDB(async (db) => {
      const label = labelSchema.parse({ column: 'y', task: 'binary' });
      const prepared = await prepareDataset(db, path, { features, label, split });
      expect(prepared.dropped).toEqual({ source: 500, noSplit: 0, missingLabel: 0, unusableLabel: 0 });
      expect(prepared.warnings).toEqual([]);
    });
  });

  it('refuses a limit outside 0..1 when the pipeline is defined', () => {
    expect(() =>
      parseOrThrow(
        labelSchema,
        { column: 'y', task: 'binary', maxMissingFraction: 1.5 },
        'step "train" label',
      ),
    ).toThrow(/step "train" label.*maxMissingFraction: Too big/s);
  });
});
