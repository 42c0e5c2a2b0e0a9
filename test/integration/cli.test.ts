import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SluiceConfig } from '../../lib/config.js';
import type { RunningWorker } from '../../worker/run.js';
import { sluice } from '../support/cli.js';
import { testConfig, testWorker } from '../support/worker.js';

let config: SluiceConfig;
let env: Record<string, string>;
let worker: RunningWorker;

beforeAll(async () => {
  ({ config, env } = await testConfig());
  worker = await testWorker(config);
});

afterAll(async () => {
  await worker?.shutdown();
});

describe('sluice against a real server', () => {
  it('run --wait --json prints one JSON document with every step, and status finds the run again', async () => {
    const run = await sluice(['run', 'first-dag', '--wait', '--json', '--as', 'ada'], env);
    expect(run.stderr).not.toMatch(/sluice:/);
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as {
      workflowId: string;
      state: string;
      startedBy: string;
      steps: { id: string; state: string }[];
    };
    expect(doc).toMatchObject({ state: 'succeeded', startedBy: 'ada' });
    expect(doc.steps.map((s) => `${s.id}:${s.state}`)).toEqual(['profile:succeeded', 'summarize:succeeded']);
    expect(run.stderr).toContain('✓ profile succeeded'); // progress goes to stderr under --json

    const status = await sluice(['status', doc.workflowId, '--json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      workflowId: doc.workflowId,
      temporalState: 'COMPLETED',
      status: { pipeline: 'first-dag', state: 'succeeded' },
    });

    const human = await sluice(['status', doc.workflowId], env);
    expect(human.stdout).toMatch(/profile\s+succeeded\s+1/);
  });

  it('run without --wait returns at once with the id and how to follow it', async () => {
    const run = await sluice(
      ['run', 'first-dag', '--param', 'source=node_modules/vega-datasets/data/penguins.json'],
      env,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^started first-dag-\d{8}-\d{6}-[0-9a-f]{8}\nfollow it with: npx sluice status first-dag-/,
    );
  });

  it('refuses bad parameters and unknown pipelines before starting anything', async () => {
    const wrongParam = await sluice(['run', 'first-dag', '--param', 'sauce=x'], env);
    expect(wrongParam.code).toBe(1);
    expect(wrongParam.stderr).toBe(
      'sluice: pipeline "first-dag" has no parameter "sauce": known parameters are source\n',
    );

    const unknown = await sluice(['run', 'no-such-pipeline'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^sluice: unknown pipeline "no-such-pipeline": use one of first-dag/);
  });

  it('status of a run that does not exist says so in one line', async () => {
    const result = await sluice(['status', 'nope-123'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'sluice: no run "nope-123" in namespace default: list runs with `sluice runs` or check the id\n',
    );
  });

  it('a failed run exits non-zero naming the step and the cause', async () => {
    const run = await sluice(['run', 'first-dag', '--wait', '--param', 'source=/etc/passwd'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /sluice: run first-dag-\S+ failed: step "profile" failed: source \/etc\/passwd resolves to \/etc\/passwd, outside the allowed data roots/,
    );
    expect(
      run.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('sluice:')),
    ).toHaveLength(1);
  });

  it('doctor --json reports every check, all passing against this server', async () => {
    const result = await sluice(['doctor', '--json'], env);
    const doc = JSON.parse(result.stdout) as {
      ok: boolean;
      checks: { name: string; status: string; detail: string }[];
    };
    expect(doc.checks.map((c) => c.name)).toEqual([
      'node',
      'config',
      'sluice-home',
      'temporal-cli',
      'temporal-server',
      'namespace',
      'tfjs-backend',
      'tokens',
    ]);
    expect(doc.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(doc.checks.find((c) => c.name === 'tokens')?.detail).toMatch(/^no tokens .*`sluice token create`/);
    expect(doc.ok).toBe(true);
    expect(result.code).toBe(0);
  });

  it('an unreachable TEMPORAL_ADDRESS is one line with the fix, for run and for doctor', async () => {
    const run = await sluice(['run', 'first-dag'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^sluice: cannot reach Temporal at 127\.0\.0\.1:1 \(.*\): start one with `npx sluice dev` or set TEMPORAL_ADDRESS to a running cluster\n$/,
    );

    const doctor = await sluice(['doctor', '--json'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(doctor.code).toBe(1);
    const doc = JSON.parse(doctor.stdout) as { checks: { name: string; status: string; fix?: string }[] };
    expect(doc.checks.find((c) => c.name === 'temporal-server')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('sluice dev') as unknown,
    });
    expect(doc.checks.find((c) => c.name === 'tfjs-backend')?.status).not.toBe('fail'); // other checks still ran
  });
});
