import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { z } from 'zod';
import { pino } from 'pino';
import { followRun, startRun } from '../../client/runs.js';
import { defineStep } from '../../index.js';
import { definePipeline } from '../../pipelines/define.js';
import type { LoadedSteps } from '../../pipelines/step-modules.js';
import type { SluiceConfig } from '../../lib/config.js';
import type { DagStatus } from '../../workflows/index.js';
import { createLogger } from '../../worker/logging.js';
import { startWorker, type RunningWorker } from '../../worker/run.js';
import { testConfig } from '../support/worker.js';

// A light user step that opts in; it fails its first attempt once, as a flaky lookup would.
let lookups = 0;
const lookupRate = defineStep({
  name: 'lookupRate',
  params: z.object({ currency: z.string() }),
  local: true,
  run: ({ params }) => {
    lookups += 1;
    if (lookups === 1) return Promise.reject(new Error('rate service briefly unavailable'));
    return Promise.resolve({ currency: params.currency, rate: 1.25 });
  },
});
// A light step that waits until its run is cancelled (or 30 s): what it saw is kept for the test.
const waits: { started: number; aborted: number } = { started: 0, aborted: 0 };
const waitForCancel = defineStep({
  name: 'waitForCancel',
  params: z.object({}),
  local: true,
  run: ({ signal }) =>
    new Promise((resolve, reject) => {
      waits.started += 1;
      const timer = setTimeout(() => resolve({ waited: 'the whole 30 s' }), 30_000);
      signal.addEventListener('abort', () => {
        waits.aborted += 1;
        clearTimeout(timer);
        reject(new Error('cancelled'));
      });
    }),
});
const steps: LoadedSteps = new Map([
  ['lookupRate', { definition: lookupRate, module: 'inline', codeSha256: 'c'.repeat(64) }],
  ['waitForCancel', { definition: waitForCancel, module: 'inline', codeSha256: 'd'.repeat(64) }],
]);

const spec = definePipeline({
  id: 'light-steps',
  steps: [
    { id: 'start', activity: 'noop' },
    {
      id: 'rate',
      activity: 'lookupRate',
      params: { currency: 'EUR' },
      needs: ['start'],
      retry: { initialInterval: '10ms' },
    },
    { id: 'remote', activity: 'noop', local: false, needs: ['start'] },
    { id: 'cached-a', activity: 'noop', cache: true, needs: ['rate'] },
    { id: 'cached-b', activity: 'noop', cache: true, needs: ['rate', 'start'] },
    { id: 'summary', activity: 'writeRunSummary', needs: ['remote', 'cached-a', 'cached-b'] },
  ],
});

let config: SluiceConfig;
let worker: RunningWorker;
let client: Client;
beforeAll(async () => {
  ({ config } = await testConfig());
  const log = createLogger(config, pino.destination({ dest: `${config.home}/worker.log`, sync: true }));
  worker = await startWorker(config, log, {
    workflowBundle: { codePath: inject('workflowBundlePath') },
    steps,
  });
  client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
});
afterAll(async () => {
  await client?.connection.close();
  await worker?.shutdown();
});

async function run(): Promise<{ status: DagStatus; workflowId: string }> {
  const handle = await startRun(client, config, spec, { runParams: {}, steps });
  return { status: await followRun(handle, () => undefined), workflowId: handle.workflowId };
}

/** What the run's history holds: activity tasks by step, and local-activity markers with their results. */
async function historyOf(workflowId: string) {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const tasks: string[] = [];
  const markers: string[] = [];
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const input = JSON.parse(Buffer.from(scheduled.input?.payloads?.[0]?.data ?? []).toString()) as {
        step: string;
      };
      tasks.push(input.step);
    }
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity') {
      const result = marker.details?.['result']?.payloads?.[0]?.data;
      markers.push(result ? Buffer.from(result).toString() : '');
    }
  }
  return { tasks, markers };
}

const byId = (status: DagStatus, id: string) => status.steps.find((step) => step.id === id)!;

describe('light steps run as local activities, still recorded in history', () => {
  it('runs built-in light steps and an opted-in user step without activity tasks; their results are in history', async () => {
    const { status, workflowId } = await run();
    expect(status.state).toBe('succeeded');
    // The user step's first attempt failed and was retried, locally; its output reached the next steps.
    expect(byId(status, 'rate')).toMatchObject({
      state: 'succeeded',
      attempt: 2,
      output: { currency: 'EUR', rate: 1.25 },
    });
    expect((byId(status, 'summary').output as { sha256: string }).sha256).toMatch(/^[0-9a-f]{64}$/);

    const { tasks, markers } = await historyOf(workflowId);
    // Only the step that said local: false went through the server's task queue.
    expect(tasks).toEqual(['remote']);
    // Every other step's result is a marker in the run's history, the user step's output included.
    expect(markers.some((m) => m.includes('"rate":1.25'))).toBe(true);
    expect(markers.filter((m) => m.includes('"sha256"')).length).toBeGreaterThanOrEqual(1);
  });

  it('looks up a ready set of cacheable steps in one call, and serves them from the cache on the next run', async () => {
    const again = await run();
    expect(byId(again.status, 'cached-a').cache).toMatchObject({ hit: true });
    expect(byId(again.status, 'cached-b').cache).toMatchObject({ hit: true });
    const { markers } = await historyOf(again.workflowId);
    // One lookup answered both keys: a single marker holds both hits.
    const lookups = markers.filter((m) => m.includes('"hit":true'));
    expect(lookups).toHaveLength(1);
    expect(Object.keys(JSON.parse(lookups[0]!) as Record<string, unknown>)).toEqual([
      byId(again.status, 'cached-a').cache!.key,
      byId(again.status, 'cached-b').cache!.key,
    ]);
  });

  it('cancelling a run while a light step runs cancels that step and starts nothing after it', async () => {
    const cancelSpec = definePipeline({
      id: 'light-cancel',
      steps: [
        { id: 'start', activity: 'noop' },
        { id: 'wait', activity: 'waitForCancel', needs: ['start'] },
        { id: 'beside', activity: 'noop', needs: ['start'] },
        { id: 'after', activity: 'noop', needs: ['wait', 'beside'] },
      ],
    });
    const handle = await startRun(client, config, cancelSpec, { runParams: {}, steps });
    for (let i = 0; i < 200 && waits.started === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(waits.started).toBe(1);
    await handle.cancel();
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    // The step saw the cancellation (its signal), and the run's last status says what happened to each step.
    for (let i = 0; i < 100 && waits.aborted === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(waits.aborted).toBe(1);
    const status = await handle.query<DagStatus>('status');
    expect(status.state).toBe('cancelled');
    expect(byId(status, 'start').state).toBe('succeeded');
    expect(byId(status, 'beside').state).toBe('succeeded');
    expect(byId(status, 'wait').state).toBe('cancelled');
    expect(byId(status, 'after').state).toBe('skipped');
  });
});
