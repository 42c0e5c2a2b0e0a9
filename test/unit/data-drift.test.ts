import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { detectDrift, type DriftInput } from '../../activities/drift/detect-drift.js';
import {
  jensenShannonDistance,
  kolmogorovTail,
  ksPValue,
  populationStabilityIndex,
} from '../../activities/drift/metrics.js';
import { driftOptionsSchema, type DriftOptionsInput, type FeatureDrift } from '../../pipelines/drift.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { dataDir } from '../support/paths.js';
import { fixtureDir, parquetFile, textFile } from './data-fixtures.js';

const options = (input: DriftOptionsInput = {}) => driftOptionsSchema.parse(input);

describe('drift metrics against values worked out by hand', () => {
  it('PSI: Σ (q − p)·ln(q / p)', () => {
    // p = [.5, .5], q = [.25, .75]: (−.25)·ln(.5) + (.25)·ln(1.5) = .173287 + .101366
    expect(populationStabilityIndex([50, 50], [25, 75])).toBeCloseTo(0.274653, 6);
    expect(populationStabilityIndex([10, 30, 60], [1, 3, 6])).toBeCloseTo(0, 12);
    // an empty reference bin is floored at ε = 1e-4: (.5 − 1)·ln(.5) + (.5 − 1e-4)·ln(.5 / 1e-4)
    expect(populationStabilityIndex([100, 0], [50, 50])).toBeCloseTo(0.346574 + 0.4999 * 8.517193, 5);
  });

  it('Jensen–Shannon distance, base 2', () => {
    // m = [.375, .625]; KL(p‖m) = .046554, KL(q‖m) = .051035; √(½·(.046554 + .051035)) = .220896
    expect(jensenShannonDistance([50, 50], [25, 75])).toBeCloseTo(0.220896, 5);
    expect(jensenShannonDistance([1, 0], [0, 1])).toBe(1);
    expect(jensenShannonDistance([3, 7], [30, 70])).toBe(0);
  });

  it('KS p-value: the Kolmogorov tail at textbook critical values, and Stephens’ correction', () => {
    expect(kolmogorovTail(1.36)).toBeCloseTo(0.0495, 4); // the 5% critical value
    expect(kolmogorovTail(1.63)).toBeCloseTo(0.0098, 4); // the 1% critical value
    expect(kolmogorovTail(1.0)).toBeCloseTo(0.27, 3);
    expect(kolmogorovTail(0.01)).toBe(1);
    // n = m = 100, d = 0.2: λ = (√50 + 0.12 + 0.11/√50)·0.2 = 1.44135; 2·(e^(−2λ²) − e^(−8λ²)) = .031377
    expect(ksPValue(0.2, 100, 100)).toBeCloseTo(0.031377, 5);
    expect(ksPValue(0.5, 0, 10)).toBe(1);
  });
});

describe('detectDrift on small real files', () => {
  let dir: string;
  let ref: DriftInput;
  beforeAll(async () => {
    dir = await fixtureDir();
    ref = {
      name: 'ref',
      path: await parquetFile(
        dir,
        'ref.parquet',
        `SELECT i::BIGINT AS x, CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END AS color, i::DOUBLE AS y FROM range(1, 11) t(i)`,
      ),
    };
  });
  const feature = (features: FeatureDrift[], column: string): FeatureDrift => {
    const found = features.find((f) => f.column === column);
    if (!found) throw new Error(`no feature ${column}`);
    return found;
  };

  it('finds no drift between a dataset and itself', async () => {
    const report = await detectDrift(ref, { ...ref, name: 'same' }, options());
    expect(report.drifted).toBe(0);
    for (const f of report.features) {
      expect(f).toMatchObject({ verdict: 'ok', psi: 0, js: 0 });
    }
    expect(feature(report.features, 'x').ks).toEqual({ statistic: 0, pValue: 1 });
  });

  it('numeric: bins at the reference deciles, PSI/JS/KS of a shifted sample', async () => {
    // reference 1…10 → deciles 1.9, 2.8, …, 9.1 put one value in each of 10 bins; current 6…15 fills the
    // last bin with 6 values (10…15) and bins 5–8 with one each.
    const current = {
      name: 'shifted',
      path: await parquetFile(dir, 'shifted.parquet', 'SELECT i::BIGINT AS x FROM range(6, 16) t(i)'),
    };
    const report = await detectDrift(ref, current, options({ columns: ['x'] }));
    const x = feature(report.features, 'x');
    expect(x.bins.map((b) => b.label)).toEqual([
      '<= 1.9',
      '(1.9, 2.8]',
      '(2.8, 3.7]',
      '(3.7, 4.6]',
      '(4.6, 5.5]',
      '(5.5, 6.4]',
      '(6.4, 7.3]',
      '(7.3, 8.2]',
      '(8.2, 9.1]',
      '> 9.1',
    ]);
    expect(x.bins.map((b) => b.reference)).toEqual(new Array(10).fill(0.1));
    expect(x.bins.map((b) => b.current)).toEqual([0, 0, 0, 0, 0, 0.1, 0.1, 0.1, 0.1, 0.6]);
    // 5·(1e-4 − .1)·ln(1e-4 / .1) + (.6 − .1)·ln 6 = 3.450424 + 0.895880
    expect(x.psi).toBeCloseTo(4.346303, 5);
    // m = [.05×5, .1×4, .35]: KL(p‖m) = .5 − .1·log2(3.5) = .319265, KL(q‖m) = .6·log2(.6/.35) = .466565
    expect(x.js).toBeCloseTo(0.626829, 5);
    // F_ref − F_cur peaks at 0.5 (x = 5 … 10); λ = (√5 + .12 + .11/√5)·.5 = 1.20263 → p = .110840
    expect(x.ks?.statistic).toBeCloseTo(0.5, 12);
    expect(x.ks?.pValue).toBeCloseTo(0.11084, 5);
    expect(x.verdict).toBe('drift');
    expect(x.reasons).toEqual(['psi 4.346 > 0.2', 'js 0.627 > 0.1']);
  });

  it('KS from DuckDB matches the CDF gap worked out by hand, ignoring nulls', async () => {
    const a = { name: 'a', path: await textFile(dir, 'a.csv', 'v\n1\n2\n3\n4\n5\n\n') };
    const b = { name: 'b', path: await textFile(dir, 'b.csv', 'v\n3\n4\n5\n6\n7\n8\n9\n10\n') };
    // at v = 5: F_a = 5/5, F_b = 3/8 → 0.625, the largest gap
    const report = await detectDrift(
      a,
      b,
      options({ thresholds: { psi: 100, js: 1, ksPValue: 0.05, ksStatistic: 0.5 } }),
    );
    const v = feature(report.features, 'v');
    expect(v.ks?.statistic).toBeCloseTo(0.625, 12);
    // n·m/(n+m) = 40/13: λ = (1.754116 + .12 + .062710)·.625 = 1.210516
    expect(v.ks?.pValue).toBeCloseTo(kolmogorovTail(1.210516), 5);
    expect(v.bins.at(-1)).toEqual({ label: '(missing)', reference: 1 / 6, current: 0 });
  });

  it('categorical: shares per value, (other) for values the reference never had', async () => {
    const current = {
      name: 'more-a',
      path: await parquetFile(
        dir,
        'colors.parquet',
        `SELECT CASE WHEN i <= 5 THEN 'a' WHEN i <= 8 THEN 'b' ELSE 'c' END AS color FROM range(1, 11) t(i)`,
      ),
    };
    const report = await detectDrift(ref, current, options({ columns: ['color'] }));
    const color = feature(report.features, 'color');
    expect(color.bins).toEqual([
      { label: 'a', reference: 0.5, current: 0.5 },
      { label: 'b', reference: 0.5, current: 0.3 },
      { label: '(other)', reference: 0, current: 0.2 },
    ]);
    // (.3 − .5)·ln(.6) + (.2 − 1e-4)·ln(.2 / 1e-4) = .102165 + 1.519420
    expect(color.psi).toBeCloseTo(1.621586, 5);
    expect(color.ks).toBeUndefined();
    expect(color.verdict).toBe('drift');
  });

  it('per-feature thresholds, schema skew and features it cannot compare', async () => {
    const current = {
      name: 'changed',
      path: await parquetFile(
        dir,
        'changed.parquet',
        `SELECT i::BIGINT AS x, 'z' || i AS y, now() AS t FROM range(6, 16) t(i)`,
      ),
    };
    const report = await detectDrift(ref, current, options({ perColumn: { x: { psi: 10, js: 1 } } }));
    expect(report.features.map((f) => [f.column, f.verdict])).toEqual([['x', 'ok']]);
    expect(feature(report.features, 'x').thresholds).toEqual({
      psi: 10,
      js: 1,
      ksPValue: 0.01,
      ksStatistic: 0.1,
    });
    expect(report.schema).toEqual({
      onlyInReference: ['color'],
      onlyInCurrent: ['t'],
      typeChanged: [{ column: 'y', reference: 'DOUBLE', current: 'VARCHAR' }],
    });
    expect(report.skipped).toEqual([{ column: 'y', reason: 'type changed from DOUBLE to VARCHAR' }]);
  });

  it('compares weather before and after 2014 on the real Seattle data', async () => {
    const path = join(dataDir, 'seattle-weather.csv');
    const before = {
      name: 'before',
      path: await parquetFile(
        dir,
        'before.parquet',
        `SELECT * FROM read_csv_auto('${path}') WHERE date < DATE '2014-01-01'`,
      ),
    };
    const after = {
      name: 'after',
      path: await parquetFile(
        dir,
        'after.parquet',
        `SELECT * FROM read_csv_auto('${path}') WHERE date >= DATE '2014-01-01'`,
      ),
    };
    const report = await detectDrift(before, after, options());
    expect(report.reference.rows + report.current.rows).toBe(1461);
    expect(report.features.map((f) => f.column)).toEqual([
      'precipitation',
      'temp_max',
      'temp_min',
      'wind',
      'weather',
    ]);
    // Seattle's labelling changed: "sun" replaced most "drizzle"/"fog" days after 2013
    expect(feature(report.features, 'weather').verdict).toBe('drift');
    expect(feature(report.features, 'precipitation').verdict).toBe('ok');
  });

  it('refuses a file it cannot read, naming it', async () => {
    const broken = { name: 'broken.parquet', path: await textFile(dir, 'broken.parquet', 'nope') };
    await expect(detectDrift(ref, broken, options())).rejects.toThrow(InvalidInputError);
    await expect(detectDrift(ref, broken, options())).rejects.toThrow(/dataset broken\.parquet/);
  });
});
