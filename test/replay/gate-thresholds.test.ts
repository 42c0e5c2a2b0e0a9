import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 15, item 1: gate verdicts are re-derived on replay. The committed histories were recorded under
 * the spec's thresholds; replayed against workflow code whose thresholds differ, the evaluation gate and
 * the monitor's drift verdicts come out differently from the recorded measurements, so the workflow
 * issues different commands at that gate and replay fails with a determinism violation.
 */
const historiesDir = fileURLToPath(new URL('../histories/', import.meta.url));
const workflowIds = JSON.parse(await readFile(`${historiesDir}workflow-ids.json`, 'utf8')) as Record<
  string,
  string
>;
const noop = () => undefined;
const logger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

let changed: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  changed = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./fixtures/changed-thresholds.ts', import.meta.url)),
    logger,
  });
});

async function replay(file: string): Promise<unknown> {
  const history = JSON.parse(await readFile(`${historiesDir}${file}`, 'utf8')) as unknown;
  return Worker.runReplayHistory(
    { workflowBundle: changed, replayName: file },
    history,
    workflowIds[file],
  ).catch((e: unknown) => e);
}

describe('a changed threshold fails replay at its gate', () => {
  it('evaluation gate: a blessed run replayed with a higher auc minimum stops at evaluate instead of drawing the card', async () => {
    const error = await replay('lifecycle-approved.json');
    expect(error).toBeInstanceOf(DeterminismViolationError);
    // The recorded history scheduled renderModelCard (event 50) after the gate; the changed code stops.
    expect((error as Error).message).toMatch(
      /Nondeterminism error: Complete workflow machine does not handle this event: HistoryEvent\(id: 50, ActivityTaskScheduled\)/,
    );
  });

  it('monitor: a breach replayed with drift thresholds nothing crosses no longer starts the retraining', async () => {
    const error = await replay('monitor-drift-retrain.json');
    expect(error).toBeInstanceOf(DeterminismViolationError);
    // The recorded history scheduled startRetraining (event 11) after the verdicts; the changed code ends.
    expect((error as Error).message).toMatch(
      /Nondeterminism error: Complete workflow machine does not handle this event: HistoryEvent\(id: 11, ActivityTaskScheduled\)/,
    );
  });
});
