import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { createDataActivities } from '../../activities/data-steps.js';
import type { ArtifactRef } from '../../pipelines/artifact.js';
import type { DriftReport } from '../../pipelines/drift.js';
import type { JsonObject, JsonValue } from '../../pipelines/json.js';
import type { StepInput, StepResult } from '../../pipelines/step.js';
import { fixtureDir, parquetFile, peopleCsv, textFile } from './data-fixtures.js';

let dir: string;
let activities: ReturnType<typeof createDataActivities>;
const env = new MockActivityEnvironment();

beforeAll(async () => {
  dir = await fixtureDir();
  await textFile(dir, 'people.csv', peopleCsv);
  await parquetFile(dir, 'ref.parquet', 'SELECT i AS x FROM range(1, 11) t(i)');
  await parquetFile(dir, 'cur.parquet', 'SELECT i AS x FROM range(6, 16) t(i)');
  activities = createDataActivities({ home: `${dir}/home`, dataRoots: [dir] });
});

function input(step: string, params: JsonObject, inputs: Record<string, JsonValue> = {}): StepInput {
  return {
    run: { pipeline: 'unit', workflowId: 'unit-run', runId: 'r1', trigger: 'manual' },
    step,
    params,
    runParams: {},
    inputs,
  };
}

async function output(result: Promise<StepResult>): Promise<Record<string, JsonValue>> {
  return (await result).output as Record<string, JsonValue>;
}

describe('the data step activities', () => {
  it('computeStatistics stores statistics and both reports, and passes the dataset on', async () => {
    const stats = await output(
      env.run(activities.computeStatistics, input('stats', { dataset: 'people.csv' })),
    );
    expect(stats).toMatchObject({ dataset: 'people.csv', rows: 5, columns: 6, passes: 2 });
    const store = createArtifactStore(`${dir}/home`);
    const report = stats['report'] as { markdown: ArtifactRef; html: ArtifactRef };
    expect(await store.describe(report.html)).toMatchObject({
      kind: 'report',
      format: 'html',
      producer: { step: 'stats' },
    });
    expect((await store.readBytes(report.markdown)).toString()).toContain('# Statistics: people.csv');
  });

  it('validateDataset uses the statistics of its dependency and returns a failed contract as a result', async () => {
    const stats = await output(
      env.run(activities.computeStatistics, input('stats', { dataset: 'people.csv' })),
    );
    const result = await output(
      env.run(
        activities.validateDataset,
        input('validate', { contract: { columns: { score: { max: 5 } } } }, { stats }),
      ),
    );
    expect(result).toMatchObject({
      dataset: 'people.csv',
      statistics: stats['statistics'] as JsonValue,
      passed: false,
      errorCount: 1,
      anomalies: [{ column: 'score', check: 'max', observed: '10' }],
      anomaliesOmitted: 0,
    });
  });

  it('a contract that does not parse fails the step, non-retryable, naming the step', async () => {
    const failure = await env
      .run(activities.validateDataset, input('validate', { dataset: 'people.csv', contract: { rows: {} } }))
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({
      type: 'InvalidInputError',
      nonRetryable: true,
      message: expect.stringContaining(
        'the contract in step "validate" params.contract is invalid: rows: ',
      ) as string,
    });
  });

  it('detectDrift takes each side from a dependency or a param and stores the report', async () => {
    const reference = await output(
      env.run(activities.computeStatistics, input('ref', { dataset: 'ref.parquet' })),
    );
    const result = await output(
      env.run(
        activities.detectDrift,
        input(
          'drift',
          {
            referenceFrom: 'ref',
            current: 'cur.parquet',
            thresholds: { psi: 0.2, js: 0.1, ksPValue: 0.01, ksStatistic: 0.1 },
          },
          { ref: reference },
        ),
      ),
    );
    expect(result).toMatchObject({
      drifted: 1,
      features: 1,
      verdicts: [{ column: 'x', verdict: 'drift', ks: 0.5 }],
    });
    const store = createArtifactStore(`${dir}/home`);
    const report = (await store.readJson(
      result['drift'] as unknown as ArtifactRef,
    )) as unknown as DriftReport;
    expect(report.features[0]?.psi).toBeCloseTo(4.346303, 5);
    const failure = await env
      .run(activities.detectDrift, input('drift', { current: 'cur.parquet', bins: 1 }))
      .catch((error: unknown) => error);
    expect((failure as Error).message).toMatch(
      /step "drift" needs params\.reference \(a dataset\) or params\.referenceFrom \(a step\)/,
    );
  });
});
