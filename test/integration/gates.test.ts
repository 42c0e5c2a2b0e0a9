import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { followRun, startRun } from '../../client/runs.js';
import { resolveRunParams } from '../../pipelines/params.js';
import { sluice } from '../support/cli.js';
import { useTestWorker } from '../support/worker.js';
import { gatedWeather } from './fixtures/gated.pipeline.js';

const t = useTestWorker();

describe('the validation gate, decided in workflow code', () => {
  it('lets a run through when the data keeps its contract, recording the decision', async () => {
    const handle = await startRun(t.client, t.config, gatedWeather, {
      runParams: resolveRunParams(gatedWeather, {}),
    });
    const status = await followRun(handle, () => undefined);
    expect(status.state).toBe('succeeded');
    expect(status.gates).toEqual([
      { step: 'validate', gate: 'validation', passed: true, reasons: ['no error anomalies (0 warnings)'] },
    ]);
    expect(status.steps.map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });

  it('stops the run when the contract is broken: nothing downstream runs, the reasons are named', async () => {
    const handle = await startRun(t.client, t.config, gatedWeather, {
      runParams: resolveRunParams(gatedWeather, { maxTemp: '30' }),
    });
    const status = await followRun(handle, () => undefined);
    expect(status.state).toBe('stopped');
    expect(status.stoppedBy).toMatchObject({ step: 'validate', gate: 'validation', passed: false });
    expect(status.stoppedBy?.reasons[0]).toBe('1 error anomaly');
    expect(status.stoppedBy?.reasons[1]).toMatch(/^temp_max: max expected <= 30, observed 35\.6/);
    expect(Object.fromEntries(status.steps.map((s) => [s.id, s.state]))).toEqual({
      ingest: 'succeeded',
      validate: 'succeeded',
      summarize: 'skipped',
    });
    expect(existsSync(join(t.config.home, 'runs', handle.workflowId))).toBe(false);
    const description = await handle.describe();
    expect(description.status.name).toBe('COMPLETED'); // a refused gate is a result, not a failure
    expect(description.searchAttributes['SluiceStage']).toEqual(['stopped:validate']);
  });

  it('sluice run --wait exits 1 with the gate and its reasons in one line, JSON still on stdout', async () => {
    const result = await sluice(
      ['run', 'test/integration/fixtures/gated.pipeline.ts', '--param', 'maxTemp=30', '--wait', '--json'],
      t.env,
    );
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ state: 'stopped', stoppedBy: { step: 'validate' } });
    const causes = result.stderr.split('\n').filter((line) => line.startsWith('sluice:'));
    expect(causes).toHaveLength(1);
    expect(causes[0]).toMatch(
      /^sluice: run gated-weather-\S+ stopped at the validation gate of step "validate": 1 error anomaly; temp_max: max/,
    );
  });
});
