import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import type { ArtifactRef } from '../../pipelines/artifact.js';
import type { SluiceConfig } from '../../lib/config.js';
import type { DagStatus } from '../../workflows/index.js';
import { sluice, startSluice, type LiveSluice } from '../support/cli.js';
import { testConfig } from '../support/worker.js';

const stepsModule = 'examples/steps/airport-features.ts';
const pipelineFile = 'examples/steps/routes.pipeline.ts';

let config: SluiceConfig;
let env: Record<string, string>;
let worker: LiveSluice;

beforeAll(async () => {
  ({ config, env } = await testConfig({ SLUICE_LOG_LEVEL: 'info' }));
  worker = startSluice(['worker', '--steps', stepsModule], env);
  await worker.waitFor(/worker started/);
});
afterAll(async () => {
  await worker?.stop('SIGINT');
});

type Run = DagStatus & { workflowId: string };

async function run(args: string[]): Promise<Run> {
  const result = await sluice(
    ['run', pipelineFile, '--steps', stepsModule, '--wait', '--json', ...args],
    env,
  );
  expect(result.stderr).not.toMatch(/^sluice:/m);
  return JSON.parse(result.stdout) as Run;
}

const step = (status: Run, id: string) => status.steps.find((s) => s.id === id)!;

describe('your own steps, loaded with --steps', () => {
  it('runs a custom feature step between built-ins; its dataset verifies; a rerun is served from the cache', async () => {
    const first = await run([]);
    expect(first.state).toBe('succeeded');
    const features = step(first, 'features');
    expect(features.cache).toMatchObject({ hit: false });
    const output = features.output as { dataset: ArtifactRef; rows: number; unmatched: number };
    expect(output.rows).toBeGreaterThan(100);
    expect(output.dataset).toMatchObject({ kind: 'dataset', format: 'parquet', rows: output.rows });
    expect(output.dataset.schema?.map((c) => c.name)).toEqual(
      expect.arrayContaining(['origin', 'destination', 'origin_state', 'destination_lat', 'same_state']),
    );
    const store = createArtifactStore(config.home);
    await store.verify(output.dataset);
    expect((await store.describe(output.dataset)).producer).toMatchObject({
      workflowId: first.workflowId,
      step: 'features',
    });
    // The built-in statistics step read the custom step's dataset by reference.
    expect(step(first, 'stats').state).toBe('succeeded');

    const again = await run([]);
    expect(step(again, 'features').cache).toMatchObject({ hit: true, from: first.workflowId });
    expect(step(again, 'features').output).toEqual(features.output);

    const otherState = await run(['--param', 'originState=NY']);
    expect(step(otherState, 'features').cache).toMatchObject({ hit: false });
  });

  it('params that fail the step’s schema are refused before the run starts, naming the step and the zod issue', async () => {
    const bad = await sluice(
      ['run', pipelineFile, '--steps', stepsModule, '--param', 'originState=California', '--json'],
      env,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^sluice: step "features" of examples\/steps\/routes\.pipeline\.ts \(joinAirports from examples\/steps\/airport-features\.ts\): params\.originState: Too big: expected string to have exactly 2 characters$/m,
    );
    expect(bad.stdout).toBe('');
  });

  it('without the step module, sluice run refuses a custom step on Sluice’s queues and says how to load it', async () => {
    const bad = await sluice(['run', pipelineFile], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /names activity "joinAirports", which Sluice does not register and no step module loaded here defines: .*load its module with --steps <module> \(or SLUICE_STEPS\)/,
    );
  });

  it('a step module that takes a built-in step’s name is refused at load, naming the module and the step', async () => {
    const collides = await sluice(['worker', '--steps', 'test/fixtures/steps/collides.ts'], env);
    expect(collides.code).toBe(1);
    expect(collides.stderr).toContain(
      'step module test/fixtures/steps/collides.ts: step "ingestDataset" has the name of a built-in Sluice step: rename it',
    );
  });
});
