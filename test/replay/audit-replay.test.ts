import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseHistory } from '../../audit/history.js';
import { replayHistories, type ReplayTarget } from '../../audit/replay-histories.js';
import { currentWorkflowCode, workflowTypes } from '../../audit/workflow-bundle.js';

const dir = fileURLToPath(new URL('../histories/', import.meta.url));
const files = (await readdir(dir)).filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json').sort();
const noop = () => undefined;
const logger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
Runtime.install({ logger });

let current: WorkflowBundleWithSourceMap;
let changed: WorkflowBundleWithSourceMap;
let types: string[];

beforeAll(async () => {
  [current, changed, types] = await Promise.all([
    currentWorkflowCode().then((c) => c.bundle),
    bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./fixtures/changed-dag.ts', import.meta.url)),
      logger,
    }),
    workflowTypes(),
  ]);
});

async function target(
  file: string,
  edit?: (json: { events: Record<string, unknown>[] }) => void,
): Promise<ReplayTarget> {
  const json = JSON.parse(await readFile(`${dir}${file}`, 'utf8')) as { events: Record<string, unknown>[] };
  edit?.(json);
  const loaded = parseHistory(JSON.stringify(json), file);
  return { source: file, loaded, workflowId: loaded.workflowId };
}

/** Rename the activity of the n-th ActivityTaskScheduled event; returns its event id. */
function renameActivity(n: number, name: string) {
  return (json: { events: Record<string, unknown>[] }) => {
    const scheduled = json.events.filter((e) => 'activityTaskScheduledEventAttributes' in e)[n] as {
      activityTaskScheduledEventAttributes: { activityType: { name: string } };
    };
    scheduled.activityTaskScheduledEventAttributes.activityType.name = name;
  };
}

describe('sluice audit replay: every committed history against the current workflow code', () => {
  it('knows the workflow types Sluice runs', () => {
    expect(types).toEqual(expect.arrayContaining(['dagWorkflow', 'registryWorkflow', 'searchWorkflow']));
  });

  it('replays every committed history (pipelines, search children, registries) cleanly', async () => {
    const outcomes = await replayHistories(await Promise.all(files.map((f) => target(f))), current, types);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(outcomes.map((o) => o.workflowType)).toContain('searchWorkflow');
    expect(outcomes.map((o) => o.workflowType)).toContain('registryWorkflow');
  });
});

describe("a divergence is named by its first diverging event and Temporal's reason", () => {
  it('a workflow changed without patched(): the first command it no longer makes', async () => {
    const [outcome] = await replayHistories([await target('first-dag-succeeded.json')], changed, types);
    expect(outcome).toMatchObject({
      ok: false,
      divergence: {
        eventId: 5,
        eventType: 'UpsertWorkflowSearchAttributes',
        nondeterminism: true,
        why: 'nondeterminism: Timer machine does not handle this event: HistoryEvent(id: 5, UpsertWorkflowSearchAttributes)',
      },
    });
  });

  it.each([
    [0, 7],
    [3, 33],
    [6, 70],
  ])(
    'an edited history: activity %i renamed is found at event %i, by a search over workflow tasks',
    async (n, id) => {
      const edited = await target('lifecycle-approved.json', renameActivity(n, 'editedActivity'));
      expect(edited.loaded.events[id - 1]?.activityTaskScheduledEventAttributes?.activityType?.name).toBe(
        'editedActivity',
      );
      const [outcome] = await replayHistories([edited], current, types);
      expect(outcome?.divergence).toMatchObject({
        eventId: id,
        eventType: 'ActivityTaskScheduled',
        nondeterminism: true,
      });
      expect(outcome?.divergence?.why).toMatch(
        /^nondeterminism: Activity type of scheduled event 'editedActivity' does not match/,
      );
    },
  );

  it('replays the others in the same batch and reports each', async () => {
    const outcomes = await replayHistories(
      [
        await target('first-dag-succeeded.json'),
        await target('first-dag-succeeded.json', renameActivity(1, 'x')),
        await target('diamond-parallel.json'),
      ],
      current,
      types,
    );
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
  });
});

describe('bad input is refused before any replay', () => {
  it('a history of a workflow type Sluice does not run', async () => {
    const other = await target('first-dag-succeeded.json', (json) => {
      const start = json.events[0] as {
        workflowExecutionStartedEventAttributes: { workflowType: { name: string } };
      };
      start.workflowExecutionStartedEventAttributes.workflowType.name = 'billingWorkflow';
    });
    await expect(replayHistories([other], current, types)).rejects.toThrow(
      `first-dag-succeeded.json is a history of workflow type "billingWorkflow", which Sluice does not run (it runs ${types.join(', ')})`,
    );
  });
});
