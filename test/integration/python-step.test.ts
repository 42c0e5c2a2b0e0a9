import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DagStatus } from '../../workflows/index.js';
import { sluice, startSluice, type LiveSluice } from '../support/cli.js';
import { projectRoot } from '../support/paths.js';
import { testConfig } from '../support/worker.js';

const python = join(projectRoot, '.sluice', 'venv', 'bin', 'python');
const stepsModule = 'examples/steps/airport-features.ts';
const pipelineFile = 'examples/python-step/scored-routes.pipeline.ts';

let env: Record<string, string>;
let worker: LiveSluice;
let pythonWorker: ChildProcess;

/** The Python worker, started as a user would; resolves once it polls its queue. */
function startPythonWorker(address: string): Promise<ChildProcess> {
  const child = spawn(python, [join(projectRoot, 'examples/python-step/worker.py'), '--address', address], {
    cwd: projectRoot,
    env: { ...process.env, ...env }, // the same SLUICE_HOME, so it reads the store Sluice's worker writes
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('python worker started on task queue python-scoring')) resolve(child);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the Python worker exited (${code}):\n${output}`)));
  });
}

beforeAll(async () => {
  // The same script CI runs (.ci/run): creates .sluice/venv with the pinned packages when missing.
  try {
    await promisify(execFile)('bash', [join(projectRoot, 'examples/python-step/setup.sh')], {
      cwd: projectRoot,
    });
  } catch (error) {
    throw new Error(
      `examples/python-step/setup.sh could not create .sluice/venv (python3 with venv and PyPI are needed): ${(error as Error).message}`,
    );
  }
  expect(existsSync(python)).toBe(true);
  ({ env } = await testConfig({ SLUICE_LOG_LEVEL: 'info' }));
  worker = startSluice(['worker', '--steps', stepsModule], env);
  await worker.waitFor(/worker started/);
  pythonWorker = await startPythonWorker(env['TEMPORAL_ADDRESS']!);
}, 600_000);

afterAll(async () => {
  if (pythonWorker && pythonWorker.exitCode === null) {
    const exited = new Promise((resolve) => pythonWorker.once('exit', resolve));
    pythonWorker.kill('SIGTERM');
    await exited;
  }
  await worker?.stop('SIGINT');
});

describe('a step served by a Python Temporal worker on its own queue', () => {
  it('runs between a built-in step and a TypeScript step of your own, reading the dataset by reference', async () => {
    const result = await sluice(
      ['run', pipelineFile, '--steps', stepsModule, '--wait', '--json'],
      env,
      180_000,
    );
    expect(result.stderr).not.toMatch(/^sluice:/m);
    const status = JSON.parse(result.stdout) as DagStatus & { workflowId: string };
    expect(status.state).toBe('succeeded');
    const features = status.steps.find((s) => s.id === 'features')!;
    const score = status.steps.find((s) => s.id === 'score')!;
    const dataset = (features.output as { dataset: { sha256: string; rows: number } }).dataset;
    expect(score).toMatchObject({ activity: 'scoreRoutes', state: 'succeeded', attempt: 1 });
    const output = score.output as {
      scoredBy: string;
      dataset: string;
      routes: number;
      top: { origin: string; destination: string; score: number }[];
    };
    expect(output.scoredBy).toBe('python');
    expect(output.dataset).toBe(dataset.sha256);
    expect(output.routes).toBe(dataset.rows);
    expect(output.top).toHaveLength(5);
    const scores = output.top.map((route) => route.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });
});
