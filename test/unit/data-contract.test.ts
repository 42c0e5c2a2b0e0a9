import { beforeAll, describe, expect, it } from 'vitest';
import { loadContract } from '../../activities/contract/load-contract.js';
import { computeStatistics } from '../../activities/statistics/compute-statistics.js';
import { validate } from '../../activities/validation/validate-dataset.js';
import { parseContract, typeFamily, typeMatches, type ContractInput } from '../../pipelines/contract.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { DatasetStatistics } from '../../pipelines/statistics.js';
import type { Anomaly, ValidationResult } from '../../pipelines/validation.js';
import { fixtureDir, parquetFile, peopleCsv, textFile } from './data-fixtures.js';

let dir: string;
let peoplePath: string;
let people: DatasetStatistics;
let floatsPath: string;
let floats: DatasetStatistics;

beforeAll(async () => {
  dir = await fixtureDir();
  peoplePath = await textFile(dir, 'people.csv', peopleCsv);
  people = (await computeStatistics(peoplePath, { name: 'people.csv' })).statistics;
  floatsPath = await parquetFile(
    dir,
    'floats.parquet',
    `SELECT * FROM (VALUES (1, 1.0::DOUBLE), (2, 'nan'::DOUBLE), (3, 'inf'::DOUBLE), (4, '-inf'::DOUBLE), (5, 2.0)) t(id, x)`,
  );
  floats = (await computeStatistics(floatsPath, { name: 'floats' })).statistics;
});

const jan10 = Date.UTC(2024, 0, 10);

async function check(
  input: ContractInput,
  on: 'people' | 'floats' = 'people',
  stats?: DatasetStatistics,
): Promise<ValidationResult> {
  const contract = parseContract(input, 'the test');
  const [path, statistics] = on === 'people' ? [peoplePath, people] : [floatsPath, floats];
  return validate(contract, stats ?? statistics, path, { referenceTime: jan10 });
}

/** The anomalies of one check, for terse assertions. */
function of(result: ValidationResult, check: string): Anomaly[] {
  return result.anomalies.filter((a) => a.check === check);
}

describe('a contract that does not parse', () => {
  it('lists every zod issue with its path', () => {
    const bad = {
      columns: { score: { type: 'int', maxNullFraction: 2, min: 5, max: 1 }, city: { regex: '(' } },
      rows: {},
      checks: [{ name: 'Bad Name', sql: '' }],
      extra: true,
    };
    let error: unknown;
    try {
      parseContract(bad, 'contract.json');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    const message = (error as Error).message;
    expect(message).toMatch(/^the contract in contract\.json is invalid: /);
    for (const path of [
      'columns.score.type',
      'columns.score.maxNullFraction',
      'columns.score.min',
      'columns.city.regex',
      'rows',
      'checks.0.name',
      'checks.0.sql',
      '(root)',
    ]) {
      expect(message).toContain(`${path}: `);
    }
    expect((error as InvalidInputError).details['issues']).toHaveLength(8);
  });

  it('from a file: missing, not JSON, or invalid', async () => {
    await expect(loadContract(`${dir}/nope.json`)).rejects.toThrow(
      /contract file .*nope\.json cannot be read \(ENOENT\)/,
    );
    const notJson = await textFile(dir, 'not.json', '{ "columns": ');
    await expect(loadContract(notJson)).rejects.toThrow(/is not valid JSON/);
    const invalid = await textFile(dir, 'invalid.json', '{ "rows": { "min": -1 } }');
    await expect(loadContract(invalid)).rejects.toThrow(/invalid\.json is invalid: rows\.min: /);
    const good = await textFile(dir, 'good.json', '{ "columns": { "id": { "unique": true } } }');
    expect((await loadContract(good)).columns['id']).toMatchObject({
      unique: true,
      nullable: true,
      severity: 'error',
    });
  });
});

describe('types', () => {
  it('families accept every width; exact names match exactly', () => {
    expect(typeFamily('BIGINT')).toBe('integer');
    expect(typeFamily('UTINYINT')).toBe('integer');
    expect(typeFamily('DECIMAL(10,2)')).toBe('decimal');
    expect(typeFamily('TIMESTAMP WITH TIME ZONE')).toBe('timestamp');
    expect(typeFamily('INTEGER[]')).toBe('other');
    expect(typeMatches('integer', 'HUGEINT')).toBe(true);
    expect(typeMatches('number', 'DOUBLE')).toBe(true);
    expect(typeMatches('BIGINT', 'bigint')).toBe(true);
    expect(typeMatches('INTEGER', 'BIGINT')).toBe(false);
  });

  it('type: pass and fail', async () => {
    const pass = await check({
      columns: { score: { type: 'integer' }, ratio: { type: 'DOUBLE' }, day: { type: 'date' } },
    });
    expect(pass).toMatchObject({ passed: true, errorCount: 0, anomalies: [] });
    const fail = await check({ columns: { score: { type: 'INTEGER' }, city: { type: 'number' } } });
    expect(of(fail, 'type')).toEqual([
      { column: 'score', check: 'type', expected: 'INTEGER', observed: 'BIGINT', severity: 'error' },
      { column: 'city', check: 'type', expected: 'number', observed: 'VARCHAR', severity: 'error' },
    ]);
    expect(fail).toMatchObject({ passed: false, errorCount: 2 });
  });
});

describe('column checks answered from the statistics', () => {
  it('required: a missing column fails unless required: false', async () => {
    expect(of(await check({ columns: { ghost: {} } }), 'required')).toEqual([
      {
        column: 'ghost',
        check: 'required',
        expected: 'column present',
        observed: 'missing',
        severity: 'error',
      },
    ]);
    expect((await check({ columns: { ghost: { required: false } } })).passed).toBe(true);
  });

  it('nullable: false', async () => {
    expect((await check({ columns: { id: { nullable: false } } })).passed).toBe(true);
    expect(of(await check({ columns: { ratio: { nullable: false } } }), 'nullable')).toEqual([
      {
        column: 'ratio',
        check: 'nullable',
        expected: 'no nulls',
        observed: '1 nulls (20.00%)',
        severity: 'error',
        count: 1,
      },
    ]);
  });

  it('maxNullFraction', async () => {
    expect((await check({ columns: { ratio: { maxNullFraction: 0.25 } } })).passed).toBe(true);
    expect(
      of(await check({ columns: { ratio: { maxNullFraction: 0.1 } } }), 'max-null-fraction'),
    ).toMatchObject([
      { column: 'ratio', expected: '<= 10.00% nulls', observed: '20.00% (1 nulls)', count: 1 },
    ]);
  });

  it('min and max on numbers', async () => {
    expect(
      (await check({ columns: { score: { min: 1, max: 10 }, ratio: { min: 0.5, max: 4.5 } } })).passed,
    ).toBe(true);
    const fail = await check({ columns: { score: { min: 2, max: 9 } } });
    expect(of(fail, 'min')).toEqual([
      { column: 'score', check: 'min', expected: '>= 2', observed: '1', severity: 'error' },
    ]);
    expect(of(fail, 'max')).toEqual([
      { column: 'score', check: 'max', expected: '<= 9', observed: '10', severity: 'error' },
    ]);
  });

  it('min and max on dates and text; a bound that cannot apply is reported', async () => {
    expect(
      (
        await check({
          columns: { day: { min: '2024-01-01', max: '2024-01-09' }, city: { min: 'a', max: 'z' } },
        })
      ).passed,
    ).toBe(true);
    const fail = await check({
      columns: { day: { max: '2024-01-08' }, city: { min: 'p' }, active: { min: 0 }, score: { min: 'a' } },
    });
    expect(fail.anomalies.map((a) => [a.column, a.check, a.observed])).toEqual([
      ['day', 'max', '2024-01-09'],
      ['city', 'min', 'oslo'],
      ['active', 'min', 'not comparable: min/max apply to numbers, dates, timestamps and text, not BOOLEAN'],
      ['score', 'min', 'not comparable: score is BIGINT, the bound is text'],
    ]);
  });

  it('finite: NaN and ±Infinity where forbidden; ±Infinity also breaks min/max', async () => {
    expect((await check({ columns: { id: { finite: true } } }, 'floats')).passed).toBe(true);
    const fail = await check({ columns: { x: { finite: true, min: 0, max: 100 } } }, 'floats');
    expect(of(fail, 'finite')).toEqual([
      {
        column: 'x',
        check: 'finite',
        expected: 'no NaN or ±Infinity',
        observed: '1 NaN, 1 +Infinity, 1 -Infinity',
        severity: 'error',
        count: 3,
      },
    ]);
    expect(of(fail, 'min')[0]?.observed).toBe('1 values are -Infinity');
    expect(of(fail, 'max')[0]?.observed).toBe('1 values are +Infinity');
  });

  it('allowed, from the complete frequency table (no scan)', async () => {
    expect(
      (
        await check({
          columns: { city: { allowed: ['paris', 'rome', 'oslo'] }, active: { allowed: [true, false] } },
        })
      ).passed,
    ).toBe(true);
    expect(of(await check({ columns: { city: { allowed: ['paris'] } } }), 'allowed')).toEqual([
      {
        column: 'city',
        check: 'allowed',
        expected: 'one of ["paris"]',
        observed: '2 values outside the list',
        severity: 'error',
        count: 2,
        examples: ['oslo', 'rome'],
      },
    ]);
  });

  it('rows: min and max', async () => {
    expect((await check({ rows: { min: 5, max: 5 } })).passed).toBe(true);
    expect(of(await check({ rows: { min: 6 } }), 'rows')).toEqual([
      { check: 'rows', expected: '>= 6 rows', observed: 5, severity: 'error' },
    ]);
    expect(of(await check({ rows: { max: 4, severity: 'warn' } }), 'rows')).toEqual([
      { check: 'rows', expected: '<= 4 rows', observed: 5, severity: 'warn' },
    ]);
  });

  it('freshness, against the reference time passed in', async () => {
    // newest day 2024-01-09, reference 2024-01-10: one day old
    expect((await check({ freshness: { column: 'day', maxAge: '48h' } })).passed).toBe(true);
    expect(of(await check({ freshness: { column: 'day', maxAge: '12h' } }), 'freshness')).toEqual([
      {
        column: 'day',
        check: 'freshness',
        expected: 'newest value at most 12h old',
        observed: 'newest 2024-01-09 is 24.0h old',
        severity: 'error',
      },
    ]);
    expect(of(await check({ freshness: { column: 'city', maxAge: '1d' } }), 'freshness')[0]?.observed).toBe(
      'city is VARCHAR, not a date or timestamp',
    );
    expect(of(await check({ freshness: { column: 'when', maxAge: '1d' } }), 'freshness')[0]?.observed).toBe(
      'column missing',
    );
  });

  it('unexpected columns: allow (default), warn or error', async () => {
    expect((await check({ columns: { id: {} } })).anomalies).toEqual([]);
    const warned = await check({ columns: { id: {} }, unexpectedColumns: 'warn' });
    expect(warned).toMatchObject({ passed: true, errorCount: 0, warningCount: 5 });
    expect(of(warned, 'unexpected-column').map((a) => a.column)).toEqual([
      'score',
      'ratio',
      'city',
      'active',
      'day',
    ]);
    expect((await check({ columns: { id: {} }, unexpectedColumns: 'error' })).errorCount).toBe(5);
  });

  it('severity warn records the anomaly and passes', async () => {
    const result = await check({ columns: { score: { max: 5, severity: 'warn' } } });
    expect(result).toMatchObject({ passed: true, errorCount: 0, warningCount: 1 });
  });
});

describe('column checks that query the data', () => {
  it('allowed, when the statistics only hold the top values (numbers compared as numbers)', async () => {
    const top1 = (await computeStatistics(peoplePath, { name: 'people.csv', topK: 1 })).statistics;
    expect(top1.columns.find((c) => c.name === 'city')?.topKComplete).toBe(false);
    expect(
      (
        await check(
          { columns: { city: { allowed: ['paris', 'rome', 'oslo'] }, score: { allowed: [1, 2, 3, 4, 10] } } },
          'people',
          top1,
        )
      ).passed,
    ).toBe(true);
    const fail = await check(
      {
        columns: { city: { allowed: ['paris'] }, score: { allowed: [1, 2, 3] }, id: { allowed: ['1', '2'] } },
      },
      'people',
      top1,
    );
    expect(of(fail, 'allowed').map((a) => [a.column, a.count, a.examples])).toEqual([
      ['city', 2, ['oslo', 'rome']],
      ['score', 2, [4, 10]],
      ['id', 3, [3, 4, 5]],
    ]);
  });

  it('regex: the whole value must match', async () => {
    expect((await check({ columns: { city: { regex: '[a-z]{4,5}' } } })).passed).toBe(true);
    expect(of(await check({ columns: { city: { regex: '[a-z]{4}' } } }), 'regex')).toEqual([
      {
        column: 'city',
        check: 'regex',
        expected: 'matches /[a-z]{4}/ (whole value)',
        observed: '2 values do not match',
        severity: 'error',
        count: 2,
        examples: ['paris'],
      },
    ]);
  });

  it('regex that RE2 rejects is a broken contract, not an anomaly', async () => {
    await expect(check({ columns: { city: { regex: '(?=p)paris' } } })).rejects.toThrow(
      /contract column "city": regex "\(\?=p\)paris" is not valid RE2/,
    );
  });

  it('unique', async () => {
    expect((await check({ columns: { id: { unique: true }, score: { unique: true } } })).passed).toBe(true);
    expect(of(await check({ columns: { city: { unique: true } } }), 'unique')).toEqual([
      {
        column: 'city',
        check: 'unique',
        expected: 'unique values',
        observed: '1 duplicate values',
        severity: 'error',
        count: 1,
        examples: ['paris'],
      },
    ]);
  });
});

describe('custom SQL checks over the view "dataset"', () => {
  it('returning violating rows: none passes, some fail with up to five examples', async () => {
    const pass = await check({
      checks: [{ name: 'no-negative', sql: 'SELECT * FROM dataset WHERE score < 0;' }],
    });
    expect(pass).toMatchObject({ passed: true, checks: 1 });
    const fail = await check({
      checks: [
        {
          name: 'big-score',
          sql: 'SELECT id, score FROM dataset WHERE score > 3 ORDER BY id -- comment',
          severity: 'warn',
        },
      ],
    });
    expect(fail.anomalies).toEqual([
      {
        check: 'sql:big-score',
        expected: 'no rows returned',
        observed: '2 violating rows',
        severity: 'warn',
        count: 2,
        examples: ['{"id":4,"score":4}', '{"id":5,"score":10}'],
      },
    ]);
  });

  it('returning a boolean: an assertion that must hold on every row', async () => {
    expect(
      (await check({ checks: [{ name: 'enough', sql: 'SELECT count(*) >= 5 FROM dataset' }] })).passed,
    ).toBe(true);
    expect(
      (
        await check({
          checks: [
            {
              name: 'too-many',
              sql: 'SELECT count(*) > 5 FROM dataset',
              description: 'more than five people',
            },
          ],
        })
      ).anomalies,
    ).toEqual([
      {
        check: 'sql:too-many',
        expected: 'more than five people',
        observed: 'false',
        severity: 'error',
        count: 1,
      },
    ]);
    expect(
      (await check({ checks: [{ name: 'small', sql: 'SELECT score < 5 FROM dataset' }] })).anomalies[0]
        ?.observed,
    ).toBe('false on 1 of 5 rows');
  });

  it('a check that is not one runnable SELECT is a broken contract', async () => {
    await expect(check({ checks: [{ name: 'two', sql: 'SELECT 1; SELECT 2' }] })).rejects.toThrow(
      /contract check "two": found 2 statements/,
    );
    await expect(check({ checks: [{ name: 'ddl', sql: 'CREATE TABLE t AS SELECT 1' }] })).rejects.toThrow(
      /contract check "ddl": it is not a SELECT/,
    );
    await expect(
      check({ checks: [{ name: 'typo', sql: 'SELECT * FROM dataset WHERE scroe > 1' }] }),
    ).rejects.toThrow(/contract check "typo": .*scroe/);
  });

  it('can read the dataset and nothing else', async () => {
    const other = await textFile(dir, 'secret.csv', 'secret\n42\n');
    await expect(
      check({ checks: [{ name: 'peek', sql: `SELECT * FROM read_csv('${other}')` }] }),
    ).rejects.toThrow(/contract check "peek": .*(Permission|disabled)/);
  });
});

describe("privacy: validation proves ingest applied the contract's pii actions", () => {
  let path: string;
  let stats: DatasetStatistics;
  beforeAll(async () => {
    path = await parquetFile(
      dir,
      'pii.parquet',
      `SELECT sha256(e) AS hashed, e AS email FROM (VALUES ('ann@example.com'), ('bob@example.com')) t(e)`,
    );
    stats = (await computeStatistics(path, { name: 'pii' })).statistics;
  });
  const run = (input: ContractInput): Promise<ValidationResult> =>
    validate(parseContract(input, 'the test'), stats, path, { referenceTime: jan10 });

  it('pii: drop — the column must be gone', async () => {
    expect((await run({ columns: { phone: { pii: 'drop' } } })).passed).toBe(true);
    expect((await run({ columns: { email: { pii: 'drop' } } })).anomalies).toEqual([
      {
        column: 'email',
        check: 'pii',
        expected: 'column dropped at ingest (pii: drop)',
        observed: 'present',
        severity: 'error',
      },
    ]);
  });

  it('pii: hash — every value must be a keyed hash, and raw values are never quoted back', async () => {
    expect((await run({ columns: { hashed: { pii: 'hash' } } })).passed).toBe(true);
    const result = await run({ columns: { email: { pii: 'hash' } } });
    expect(result.anomalies).toEqual([
      {
        column: 'email',
        check: 'pii',
        expected: 'hashed at ingest (pii: hash): 64 hex digits',
        observed: '2 values are not hashed',
        severity: 'error',
        count: 2,
      },
    ]);
    expect(JSON.stringify(result)).not.toContain('@example.com');
  });

  it('a pii action that is neither hash nor drop does not parse', () => {
    expect(() => parseContract({ columns: { email: { pii: 'mask' } } }, 'the test')).toThrow(
      /columns\.email\.pii: /,
    );
  });
});
