import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { followRun, startRun } from '../../client/runs.js';
import type { ArtifactRef } from '../../pipelines/artifact.js';
import type { ContractInput } from '../../pipelines/contract.js';
import { definePipeline } from '../../pipelines/define.js';
import type { PipelineSpec } from '../../pipelines/spec.js';
import type { DatasetStatistics } from '../../pipelines/statistics.js';
import type { Anomaly, ValidationResult } from '../../pipelines/validation.js';
import type { SluiceConfig } from '../../lib/config.js';
import type { RunningWorker } from '../../worker/run.js';
import type { DagStatus, StepStatus } from '../../workflows/index.js';
import { testConfig, testWorker } from '../support/worker.js';

let config: SluiceConfig;
let worker: RunningWorker;
let client: Client;

beforeAll(async () => {
  ({ config } = await testConfig());
  worker = await testWorker(config);
  client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
});

afterAll(async () => {
  await client?.connection.close();
  await worker?.shutdown();
});

/**
 * ingest → stats → validate (a validation gate) → summarize over the Seattle weather data, with the
 * given contract.
 */
function weatherPipeline(id: string, contract: ContractInput): PipelineSpec {
  return definePipeline({
    id,
    steps: [
      {
        id: 'ingest',
        activity: 'ingestDataset',
        params: { source: 'node_modules/vega-datasets/data/seattle-weather.csv' },
      },
      { id: 'stats', activity: 'computeStatistics', needs: ['ingest'] },
      {
        id: 'validate',
        activity: 'validateDataset',
        needs: ['stats'],
        gate: 'validation',
        params: { contract, referenceTime: '2016-01-01T00:00:00Z' },
      },
      { id: 'summarize', activity: 'writeRunSummary', needs: ['validate'] },
    ],
  });
}

const passing: ContractInput = {
  columns: {
    date: { type: 'date', nullable: false, unique: true },
    precipitation: { type: 'float', min: 0, max: 60, finite: true },
    temp_max: { type: 'number', min: -10, max: 45 },
    weather: { type: 'string', allowed: ['drizzle', 'fog', 'rain', 'snow', 'sun'] },
  },
  rows: { min: 1000 },
  freshness: { column: 'date', maxAge: '2d' },
  checks: [{ name: 'max-above-min', sql: 'SELECT * FROM dataset WHERE temp_max < temp_min' }],
};

const failing: ContractInput = {
  columns: {
    temp_max: { max: 30 },
    weather: { allowed: ['rain', 'sun'] },
    wind: { regex: '[0-4]\\.[0-9]', severity: 'warn' },
  },
  freshness: { column: 'date', maxAge: '12h' },
};

function byId(status: DagStatus): Record<string, StepStatus> {
  return Object.fromEntries(status.steps.map((step) => [step.id, step]));
}

describe('the data plane as activities on a real Temporal server', () => {
  it('ingest → stats → validate: a contract the data keeps passes, with every artifact stored', async () => {
    const status = await followRun(
      await startRun(client, config, weatherPipeline('weather-contract-ok', passing), { runParams: {} }),
      () => undefined,
    );
    expect(status.state).toBe('succeeded');
    expect(status.gates).toEqual([
      { step: 'validate', gate: 'validation', passed: true, reasons: ['no error anomalies (0 warnings)'] },
    ]);
    const steps = byId(status);
    const stats = steps['stats']?.output as { statistics: ArtifactRef; rows: number; passes: number };
    expect(stats).toMatchObject({ rows: 1461, columns: 6, passes: 2 });
    expect(steps['validate']?.output).toMatchObject({
      passed: true,
      errorCount: 0,
      warningCount: 0,
      anomalies: [],
      anomaliesOmitted: 0,
    });

    // The refs in the outputs open verified artifacts, produced by this run's steps.
    const store = createArtifactStore(config.home);
    const statistics = (await store.readJson(stats.statistics)) as unknown as DatasetStatistics;
    expect(statistics.rows).toBe(1461);
    expect(statistics.dataset.sha256).toBe(
      (steps['ingest']?.output as { dataset: ArtifactRef }).dataset.sha256,
    );
    const validation = (steps['validate']?.output as { validation: ArtifactRef }).validation;
    expect(await store.describe(validation)).toMatchObject({
      kind: 'validation',
      producer: { step: 'validate', workflowId: expect.stringContaining('weather-contract-ok') as string },
    });
  });

  it('a contract the data breaks: validate returns the anomalies, the gate stops the run, nothing downstream runs', async () => {
    const handle = await startRun(client, config, weatherPipeline('weather-contract-bad', failing), {
      runParams: {},
    });
    const status = await followRun(handle, () => undefined);
    const steps = byId(status);
    expect(steps['validate']?.state).toBe('succeeded'); // a broken contract is a result, not a failure
    const output = steps['validate']?.output as unknown as {
      passed: boolean;
      errorCount: number;
      warningCount: number;
      anomalies: Anomaly[];
      validation: ArtifactRef;
    };
    expect(output).toMatchObject({ passed: false, errorCount: 3, warningCount: 1 });
    expect(output.anomalies.map((a) => [a.severity, a.column, a.check])).toEqual([
      ['error', 'temp_max', 'max'],
      ['error', 'weather', 'allowed'],
      ['error', 'date', 'freshness'],
      ['warn', 'wind', 'regex'],
    ]);
    expect(output.anomalies[1]).toMatchObject({ count: 180, examples: ['drizzle', 'fog', 'snow'] });
    const stored = (await createArtifactStore(config.home).readJson(
      output.validation,
    )) as unknown as ValidationResult;
    expect(stored.anomalies).toEqual(output.anomalies);

    // The workflow's validation gate read errorCount and stopped the run there.
    expect(status.state).toBe('stopped');
    expect(status.stoppedBy).toMatchObject({ step: 'validate', gate: 'validation', passed: false });
    expect(status.stoppedBy?.reasons[0]).toBe('3 error anomalies');
    expect(status.stoppedBy?.reasons[1]).toMatch(/^temp_max: max expected <= 30, observed 35\.6/);
    expect(Object.fromEntries(status.steps.map((s) => [s.id, s.state]))).toEqual({
      ingest: 'succeeded',
      stats: 'succeeded',
      validate: 'succeeded',
      summarize: 'skipped',
    });
    expect(existsSync(join(config.home, 'runs', handle.workflowId))).toBe(false);
  });
});
