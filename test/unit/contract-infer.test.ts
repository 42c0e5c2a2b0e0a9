import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inferContractFromFile } from '../../activities/contract/infer-contract.js';
import { computeStatistics } from '../../activities/statistics/compute-statistics.js';
import { validate } from '../../activities/validation/validate-dataset.js';
import { parseContract } from '../../pipelines/contract.js';
import { dataDir } from '../support/paths.js';
import { fixtureDir, parquetFile, peopleCsv, textFile } from './data-fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await fixtureDir();
});

describe('sluice contract infer', () => {
  it('proposes types, nullability, widened bounds, allowed values, patterns, keys and row bounds', async () => {
    const path = await textFile(dir, 'people.csv', peopleCsv.replace('5,10,4.5,oslo', '5,10,4.5,paris'));
    const { contract } = await inferContractFromFile(path, 'people.csv', { maxAllowed: 20 });
    expect(contract).toEqual({
      columns: {
        // 1…5, widened by 10% of the range (0.4) and rounded outward, never below 0 for non-negative data
        id: { type: 'integer', nullable: false, min: 0, max: 6, unique: true },
        score: { type: 'integer', nullable: false, min: 0, max: 11, unique: true },
        // one null in five: maxNullFraction = ceil(0.2 · 1.5 · 100) / 100
        ratio: { type: 'float', maxNullFraction: 0.3, min: 0.1, max: 4.9, finite: true },
        // 4 values, 2 distinct: too few rows per value for an allowed list, so a pattern instead
        city: { type: 'string', maxNullFraction: 0.3, regex: '[a-z]{4,5}' },
        active: { type: 'boolean', maxNullFraction: 0.3 },
        day: { type: 'date', nullable: false },
      },
      rows: { min: 2, max: 10 },
      unexpectedColumns: 'warn',
    });
  });

  it('gives low-cardinality text an allowed list and keeps what the data needs (penguins)', async () => {
    const path = join(dataDir, 'penguins.json');
    const { contract, statistics } = await inferContractFromFile(path, 'penguins.json');
    expect(contract.columns?.['Species']).toEqual({
      type: 'string',
      nullable: false,
      allowed: ['Adelie', 'Chinstrap', 'Gentoo'],
    });
    expect(contract.columns?.['Sex']).toMatchObject({
      allowed: ['.', 'FEMALE', 'MALE'],
      maxNullFraction: 0.05,
    });
    expect(contract.columns?.['Body Mass (g)']).toEqual({
      type: 'integer',
      maxNullFraction: 0.01,
      min: 2340,
      max: 6660,
    });
    // the proposal is a valid contract and the data it came from passes it
    const result = await validate(parseContract(contract, 'inferred'), statistics, path);
    expect(result).toMatchObject({ passed: true, errorCount: 0, warningCount: 0 });
  });

  it('proves uniqueness exactly instead of trusting the approximate distinct count', async () => {
    // 2000 distinct keys and one duplicate: HyperLogLog cannot tell, the exact check can
    const path = await parquetFile(
      dir,
      'keys.parquet',
      'SELECT i AS k FROM range(2000) t(i) UNION ALL SELECT 7',
    );
    const { contract, statistics } = await inferContractFromFile(path, 'keys');
    expect(statistics.columns[0]?.distinct).toBeGreaterThan(1900);
    expect(contract.columns?.['k']?.unique).toBeUndefined();
    const unique = await parquetFile(dir, 'unique.parquet', 'SELECT i AS k FROM range(2000) t(i)');
    expect((await inferContractFromFile(unique, 'unique')).contract.columns?.['k']?.unique).toBe(true);
  });

  it('a contract inferred from one batch catches a bad next batch', async () => {
    const good = await textFile(dir, 'batch1.csv', peopleCsv);
    const { contract } = await inferContractFromFile(good, 'batch1');
    const bad = await textFile(
      dir,
      'batch2.csv',
      'id,score,ratio,city,active,day\n1,99,0.5,PARIS,true,2024-01-01\n1,2,,paris,false,\n',
    );
    const { statistics } = await computeStatistics(bad, { name: 'batch2' });
    const result = await validate(parseContract(contract, 'inferred'), statistics, bad);
    expect(result.passed).toBe(false);
    expect(result.anomalies.map((a) => `${a.column}:${a.check}`).sort()).toEqual([
      'city:regex',
      'day:nullable',
      'id:unique',
      'ratio:max-null-fraction',
      'score:max',
    ]);
  });
});
