import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DagStatus } from '../../workflows/index.js';
import { sluice } from '../support/cli.js';
import { useTestWorker } from '../support/worker.js';

const t = useTestWorker();

describe('retraining triggers', () => {
  it('an event with new data starts one run, recorded as trigger event; the same data again starts nothing', async () => {
    const data = join(t.config.home, 'weather-2016.csv');
    await copyFile('node_modules/vega-datasets/data/seattle-weather.csv', data);
    const args = ['trigger', 'first-dag', '--event', 'nightly-drop', '--data', data, '--json'];
    const first = await sluice(args, t.env);
    expect(first.stderr).not.toMatch(/^sluice:/m);
    const started = JSON.parse(first.stdout) as { workflowId: string; started: boolean; dataSha256: string };
    expect(started).toMatchObject({
      started: true,
      workflowId: `first-dag-data-${started.dataSha256.slice(0, 16)}`,
    });

    const handle = t.client.workflow.getHandle(started.workflowId);
    const status = (await handle.result()) as DagStatus;
    expect(status).toMatchObject({
      trigger: 'event',
      startedBy: 'event:nightly-drop',
      runParams: { source: data },
    });
    expect((await handle.describe()).searchAttributes['SluiceTrigger']).toEqual(['event']);

    const again = await sluice(args, t.env);
    expect(JSON.parse(again.stdout)).toMatchObject({
      started: false,
      workflowId: started.workflowId,
      status: 'COMPLETED',
    });
  });

  it('a trigger for a pipeline without a source parameter, or data outside the roots, is refused', async () => {
    const outside = await sluice(['trigger', 'first-dag', '--event', 'x', '--data', '/etc/hostname'], t.env);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(
      /^sluice: source \/etc\/hostname resolves to .*outside the allowed data roots/,
    );
    const noSource = await sluice(
      [
        'trigger',
        'test/integration/fixtures/gated.pipeline.ts',
        '--event',
        'x',
        '--data',
        'node_modules/vega-datasets/data/seattle-weather.csv',
      ],
      t.env,
    );
    expect(noSource.stderr).toBe(
      'sluice: pipeline "gated-weather" has no "source" parameter to receive the data: declare params.source and use { $param: \'source\' } in its ingest step\n',
    );
  });

  it('a schedule fires runs recorded as trigger schedule; pause, list and delete work', async () => {
    const create = await sluice(['schedule', 'create', 'first-dag', '--every', '2s', '--json'], t.env);
    expect(create.stderr).not.toMatch(/^sluice:/m);
    try {
      let runs: { workflowId: string; trigger: string | null }[] = [];
      for (let i = 0; i < 40 && runs.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 500));
        const listed = await sluice(['runs', '--pipeline', 'first-dag', '--json'], t.env);
        runs = (
          JSON.parse(listed.stdout) as { runs: { workflowId: string; trigger: string | null }[] }
        ).runs.filter((r) => r.trigger === 'schedule');
      }
      expect(runs.length).toBeGreaterThan(0);
      expect(runs[0]!.workflowId).toMatch(/^first-dag-scheduled/);
      const duplicate = await sluice(['schedule', 'create', 'first-dag', '--every', '2s'], t.env);
      expect(duplicate.stderr).toBe(
        'sluice: schedule sluice-first-dag already exists: delete it first with `sluice schedule delete first-dag`\n',
      );
      expect((await sluice(['schedule', 'pause', 'first-dag'], t.env)).code).toBe(0);
      const list = JSON.parse((await sluice(['schedule', 'list', '--json'], t.env)).stdout) as {
        schedules: { scheduleId: string; paused: boolean }[];
      };
      expect(list.schedules).toContainEqual(
        expect.objectContaining({ scheduleId: 'sluice-first-dag', paused: true }),
      );
    } finally {
      expect((await sluice(['schedule', 'delete', 'first-dag'], t.env)).code).toBe(0);
    }
    const gone = await sluice(['schedule', 'delete', 'first-dag'], t.env);
    expect(gone.stderr).toBe('sluice: no schedule sluice-first-dag: list them with `sluice schedule list`\n');
  });
});
