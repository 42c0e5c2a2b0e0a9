import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { startRun } from '../../client/runs.js';
import { buildPipeline, definePipeline } from '../../pipelines/define.js';
import type { DagStatus } from '../../workflows/index.js';
import { sluice } from '../support/cli.js';
import { useTestWorker } from '../support/worker.js';
import { approvalPipeline, roles } from './fixtures/approval.js';

const t = useTestWorker(async (config) =>
  writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles })),
);

const cached = definePipeline({
  id: 'cached-weather',
  steps: [
    {
      id: 'ingest',
      activity: 'ingestDataset',
      params: { source: 'node_modules/vega-datasets/data/seattle-weather.csv' },
    },
    { id: 'stats', activity: 'computeStatistics', needs: ['ingest'], cache: true },
    {
      id: 'validate',
      activity: 'validateDataset',
      needs: ['stats'],
      cache: true,
      gate: 'validation',
      params: { contract: { columns: { temp_max: { max: 45 } } }, referenceTime: '2016-01-01T00:00:00Z' },
    },
    { id: 'summarize', activity: 'writeRunSummary', needs: ['validate'] },
  ],
});

const cacheOf = (status: DagStatus) =>
  Object.fromEntries(status.steps.map((s) => [s.id, s.cache ? (s.cache.hit ? 'hit' : 'miss') : 'none']));

async function rerun(args: string[]): Promise<DagStatus & { workflowId: string }> {
  const result = await sluice(['rerun', ...args, '--wait', '--json'], t.env);
  expect(result.stderr).not.toMatch(/^sluice:/m);
  return JSON.parse(result.stdout) as DagStatus & { workflowId: string };
}

describe('step cache and rerun', () => {
  it('a rerun serves unchanged cacheable steps from the cache; --from runs that step and what follows again', async () => {
    const first = await startRun(t.client, t.config, cached, { runParams: {} });
    const original = await first.result();
    expect(cacheOf(original)).toEqual({ ingest: 'none', stats: 'miss', validate: 'miss', summarize: 'none' });

    const again = await rerun([first.workflowId]);
    expect(again.state).toBe('succeeded');
    expect(again.rerunOf).toEqual({ of: first.workflowId });
    expect(cacheOf(again)).toEqual({ ingest: 'none', stats: 'hit', validate: 'hit', summarize: 'none' });
    const stats = again.steps.find((s) => s.id === 'stats')!;
    expect(stats.cache?.from).toBe(first.workflowId);
    expect(stats.output).toEqual(original.steps.find((s) => s.id === 'stats')!.output);
    // The gate is decided again from the cached output: decisions stay in workflow code.
    expect(again.gates).toEqual(original.gates);

    const fromValidate = await rerun([first.workflowId, '--from', 'validate']);
    expect(cacheOf(fromValidate)).toEqual({
      ingest: 'none',
      stats: 'hit',
      validate: 'miss',
      summarize: 'none',
    });

    const bad = await sluice(['rerun', first.workflowId, '--from', 'train'], t.env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      `sluice: run ${first.workflowId} has no step "train": its steps are ingest, stats, validate, summarize\n`,
    );
  });

  it('a changed input is a cache miss', async () => {
    const other = buildPipeline({
      ...cached,
      id: 'cached-weather-other',
      steps: cached.steps.map((s) =>
        s.id === 'ingest'
          ? {
              ...s,
              params: {
                source: 'node_modules/vega-datasets/data/seattle-weather.csv',
                sql: 'select * from source where temp_max > 0',
              },
            }
          : s,
      ),
    });
    const status = await (await startRun(t.client, t.config, other, { runParams: {} })).result();
    expect(cacheOf(status)).toMatchObject({ stats: 'miss', validate: 'miss' });
  });

  it('cancel stops a run waiting at a gate; nothing downstream runs', async () => {
    const handle = await startRun(t.client, t.config, approvalPipeline('cancel-me', {}), {
      runParams: {},
      startedBy: 'carol',
    });
    for (let i = 0; i < 100; i++) {
      const status = await handle.query<DagStatus>('status').catch(() => undefined);
      if (status?.approvals.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const cancel = await sluice(['cancel', handle.workflowId], t.env);
    expect(cancel.code).toBe(0);
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    const again = await sluice(['cancel', handle.workflowId], t.env);
    expect(again.stderr).toBe(
      `sluice: run ${handle.workflowId} is already finished (cancelled): nothing to cancel\n`,
    );
  });
});
