import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DriftReport } from '../../pipelines/drift.js';
import type { DatasetStatistics } from '../../pipelines/statistics.js';
import type { ValidationResult } from '../../pipelines/validation.js';
import { sluice } from '../support/cli.js';
import { projectRoot } from '../support/paths.js';
import { fixtureDir, parquetFile, peopleCsv, textFile } from './data-fixtures.js';

let dir: string;
let env: Record<string, string>;
let people: string;

beforeAll(async () => {
  dir = await fixtureDir();
  env = {
    SLUICE_HOME: join(dir, 'home'),
    SLUICE_DATA_ROOTS: `${projectRoot}:${dir}`,
    SLUICE_LOG_LEVEL: 'warn',
  };
  people = await textFile(dir, 'people.csv', peopleCsv);
});

describe('the data-plane commands, as a user runs them', () => {
  it('sluice stats prints the report, stores the artifacts, and shows them again by sha256', async () => {
    const human = await sluice(['stats', people], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('# Statistics: ');
    expect(human.stdout).toMatch(/\| score \| BIGINT \| 0 \(0\.00%\) \| ≈5 \| 1 \| 10 \| 4 \|/);
    expect(human.stdout).toMatch(/HTML report .*\.html\n$/);

    const json = await sluice(['--json', 'stats', people], env);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as {
      statistics: DatasetStatistics;
      artifacts: { statistics: { sha256: string } };
      paths: { html: string };
    };
    expect(doc.statistics.rows).toBe(5);
    expect(await readFile(doc.paths.html, 'utf8')).toMatch(/^<!doctype html>/);
    const again = await sluice(['--json', 'stats', doc.artifacts.statistics.sha256], env);
    expect((JSON.parse(again.stdout) as { statistics: DatasetStatistics }).statistics).toEqual(
      doc.statistics,
    );
  });

  it('sluice contract infer writes a contract that sluice validate then passes', async () => {
    const file = join(dir, 'people.contract.json');
    const inferred = await sluice(['contract', 'infer', people, '--out', file], env);
    expect(inferred.code).toBe(0);
    expect(inferred.stdout).toContain(`wrote ${file}`);
    const validated = await sluice(['validate', people, '--contract', file], env);
    expect(validated.stderr).toBe('');
    expect(validated.code).toBe(0);
    expect(validated.stdout).toMatch(/passed · \d+ checks · 0 errors · 0 warnings/);
  });

  it('sluice validate exits 1 on error anomalies, with a table, or the result under --json', async () => {
    const contract = await textFile(
      dir,
      'strict.json',
      JSON.stringify({ columns: { score: { max: 5 }, city: { allowed: ['paris'], severity: 'warn' } } }),
    );
    const human = await sluice(['validate', people, '--contract', contract], env);
    expect(human.code).toBe(1);
    expect(human.stderr).toBe(`sluice: ${people} breaks its contract: 1 error anomalies\n`);
    expect(human.stdout).toMatch(/FAILED · 4 checks · 1 errors · 1 warnings/);
    expect(human.stdout).toMatch(/^error\s+score\s+max\s+<= 5\s+10\s*$/m);
    expect(human.stdout).toMatch(
      /^warn\s+city\s+allowed\s+one of \["paris"\]\s+2 values outside the list\s+"oslo", "rome"$/m,
    );

    const json = await sluice(['--json', 'validate', people, '--contract', contract], env);
    expect(json.code).toBe(1);
    const result = JSON.parse(json.stdout) as ValidationResult;
    expect(result).toMatchObject({ passed: false, errorCount: 1, warningCount: 1 });
  });

  it('a contract that does not parse is one line naming every issue', async () => {
    const broken = await textFile(
      dir,
      'broken.json',
      JSON.stringify({ columns: { score: { type: 'int' } }, rows: {} }),
    );
    const result = await sluice(['validate', people, '--contract', broken], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^sluice: the contract in .*broken\.json is invalid: columns\.score\.type: .*; rows: give min, max or both; fix it and retry\n$/,
    );
  });

  it('sluice drift prints verdicts and can fail the shell on drift', async () => {
    const a = await parquetFile(dir, 'a.parquet', 'SELECT i AS x FROM range(1, 11) t(i)');
    const b = await parquetFile(dir, 'b.parquet', 'SELECT i AS x FROM range(6, 16) t(i)');
    const human = await sluice(['drift', a, b], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/\*\*1 of 1 features drifted\*\*/);
    expect(human.stdout).toMatch(/^\| x \| numeric \| \*\*drift\*\* \| 4\.3463 \|/m);
    const json = await sluice(['--json', 'drift', a, b, '--psi', '5', '--js', '0.9', '--fail-on-drift'], env);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as DriftReport).features[0]).toMatchObject({
      column: 'x',
      verdict: 'ok',
    });
    const failing = await sluice(['drift', a, b, '--fail-on-drift'], env);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toBe('sluice: 1 of 1 features drifted\n');
  });

  it('a path outside the data roots is refused before anything is read', async () => {
    const result = await sluice(['stats', '/etc/hostname'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^sluice: source \/etc\/hostname resolves to .* outside the allowed data roots/,
    );
  });
});
