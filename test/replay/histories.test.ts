import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';
import { workflowsPath } from '../../worker/run.js';

const historiesDir = fileURLToPath(new URL('../histories/', import.meta.url));
const files = (await readdir(historiesDir))
  .filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json')
  .sort();
/** The workflow id each history was recorded under (child workflow ids derive from it). */
const workflowIds = JSON.parse(await readFile(`${historiesDir}workflow-ids.json`, 'utf8')) as Record<
  string,
  string
>;
const noop = () => undefined;
const logger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

let current: WorkflowBundleWithSourceMap;
let changed: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  [current, changed] = await Promise.all([
    bundleWorkflowCode({ workflowsPath: workflowsPath(), logger }),
    bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./fixtures/changed-dag.ts', import.meta.url)),
      logger,
    }),
  ]);
});

async function history(file: string): Promise<unknown> {
  return JSON.parse(await readFile(`${historiesDir}${file}`, 'utf8')) as unknown;
}

describe('committed histories replay against the current workflow code', () => {
  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
  });

  it.each(files)('%s replays cleanly', async (file) => {
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: current, replayName: file },
        await history(file),
        workflowIds[file],
      ),
    ).resolves.toBeUndefined();
  });

  it('a non-deterministic change to the workflow is caught', async () => {
    const error = await Worker.runReplayHistory(
      { workflowBundle: changed, replayName: 'changed' },
      await history('first-dag-succeeded.json'),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeterminismViolationError);
    expect((error as Error).message).toMatch(/[Nn]ondeterminism|TimerStarted|timer/);
  });
});
