import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DagStatus } from '../../workflows/index.js';
import { sluice, startSluice, type LiveSluice } from '../support/cli.js';
import { testConfig } from '../support/worker.js';
import { lifecycleRoles } from './fixtures/lifecycle.js';

const stepsModule = 'examples/steps/airport-features.ts';
const pipelineFile = 'test/integration/fixtures/lifecycle-features.pipeline.ts';

let env: Record<string, string>;
let worker: LiveSluice;

beforeAll(async () => {
  const made = await testConfig({ SLUICE_LOG_LEVEL: 'info' });
  env = made.env;
  await writeFile(join(made.config.home, 'roles.json'), JSON.stringify({ roles: lifecycleRoles }));
  worker = startSluice(['worker', '--steps', stepsModule], env);
  await worker.waitFor(/worker started/);
});
afterAll(async () => {
  await worker?.stop('SIGINT');
});

async function status(runId: string): Promise<DagStatus> {
  const result = await sluice(['status', runId, '--json'], env);
  return (JSON.parse(result.stdout) as { status: DagStatus }).status;
}

describe('mlLifecycle with a feature step of your own', () => {
  it('trains and evaluates on the dataset the feature step made, then waits for sign-off', async () => {
    const started = await sluice(['run', pipelineFile, '--steps', stepsModule, '--json'], env);
    expect(started.stderr).not.toMatch(/^sluice:/m);
    const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
    let current = await status(workflowId);
    while (
      current.state === 'running' &&
      !current.approvals.some((gate) => gate.state === 'awaiting') &&
      !current.steps.some((step) => step.state === 'failed')
    ) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      current = await status(workflowId);
    }
    const step = (id: string) => current.steps.find((s) => s.id === id)!;
    expect(step('airports')).toMatchObject({ activity: 'joinAirports', state: 'succeeded' });
    // origin_state exists only in the feature step's dataset: training and evaluation read that one.
    expect(step('train').state).toBe('succeeded');
    expect(step('evaluate').state).toBe('succeeded');
    expect(current.approvals.map((gate) => gate.state)).toEqual(['awaiting']);
    await sluice(['cancel', workflowId], env);
  }, 300_000);
});
