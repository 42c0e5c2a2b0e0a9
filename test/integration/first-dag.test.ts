import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RunFailedError, followRun, startRun } from '../../client/runs.js';
import { firstDag } from '../../pipelines/first-dag.pipeline.js';
import { buildPipeline, definePipeline } from '../../pipelines/define.js';
import { resolveRunParams } from '../../pipelines/params.js';
import type { StepStatus } from '../../workflows/index.js';
import { useTestWorker } from '../support/worker.js';

const t = useTestWorker();

describe('the first DAG on a real Temporal server', () => {
  it('profiles the dataset with DuckDB, then writes the summary, in dependency order', async () => {
    const handle = await startRun(t.client, t.config, firstDag, {
      runParams: resolveRunParams(firstDag, {}),
    });
    const seen: string[] = [];
    const status = await followRun(handle, (step) => seen.push(`${step.id}:${step.state}`));

    expect(status.state).toBe('succeeded');
    const [profile, summarize] = status.steps as [StepStatus, StepStatus];
    expect(profile.output).toMatchObject({ rows: 1461 });
    expect((profile.output as { columns: { name: string }[] }).columns.map((c) => c.name)).toEqual([
      'date',
      'precipitation',
      'temp_max',
      'temp_min',
      'wind',
      'weather',
    ]);
    expect(Date.parse(summarize.startedAt!)).toBeGreaterThanOrEqual(Date.parse(profile.finishedAt!));
    expect(seen.indexOf('profile:succeeded')).toBeLessThan(seen.indexOf('summarize:succeeded'));

    // The summary landed on disk, whole, and carries the profile it was given.
    const written = summarize.output as { path: string; sha256: string };
    const text = await readFile(written.path, 'utf8');
    expect(createHash('sha256').update(text).digest('hex')).toBe(written.sha256);
    expect(JSON.parse(text)).toMatchObject({
      inputs: { profile: { rows: 1461 } },
      run: { pipeline: 'first-dag' },
    });

    // The run is findable by Sluice's search attributes.
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get({ name: 'SluicePipeline', type: 'KEYWORD' } as never)).toBe(
      'first-dag',
    );
    expect(description.searchAttributes['SluiceStage']).toEqual(['done']);
    expect(description.searchAttributes['SluiceTrigger']).toEqual(['manual']);
  });

  it('runs parameters through to the step: a Parquet source of 3 million flights', async () => {
    const handle = await startRun(t.client, t.config, firstDag, {
      runParams: resolveRunParams(firstDag, { source: 'node_modules/vega-datasets/data/flights-3m.parquet' }),
    });
    const status = await followRun(handle, () => undefined);
    expect(status.steps[0]?.output).toMatchObject({ rows: 3_000_000 });
  });

  it('stops at a failing step without retrying bad input, skips what depends on it, and says why', async () => {
    const handle = await startRun(t.client, t.config, firstDag, {
      runParams: resolveRunParams(firstDag, { source: 'no/such/file.csv' }),
    });
    const seen: StepStatus[] = [];
    const failure = await followRun(handle, (step) => seen.push(step)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RunFailedError);
    expect((failure as Error).message).toMatch(
      /step "profile" failed: source no\/such\/file\.csv does not exist/,
    );

    const history = await handle.fetchHistory();
    const attempts = history.events?.filter((e) => e.activityTaskStartedEventAttributes) ?? [];
    expect(attempts).toHaveLength(1); // InvalidInputError is non-retryable
    const states = Object.fromEntries(seen.map((s) => [s.id, s.state]));
    expect(states).toMatchObject({ profile: 'failed', summarize: 'skipped' });
  });

  it('runs independent steps side by side and joins them', async () => {
    const diamond = definePipeline({
      id: 'diamond',
      maxParallel: 2,
      steps: [
        { id: 'a', activity: 'noop' },
        { id: 'b', activity: 'noop', needs: ['a'] },
        { id: 'c', activity: 'noop', needs: ['a'] },
        { id: 'd', activity: 'writeRunSummary', needs: ['b', 'c'] },
      ],
    });
    const status = await followRun(
      await startRun(t.client, t.config, diamond, { runParams: {} }),
      () => undefined,
    );
    const at = Object.fromEntries(status.steps.map((s) => [s.id, s]));
    expect(status.state).toBe('succeeded');
    // b and c were both scheduled before either finished: they start in the same workflow task.
    expect(at['b']!.startedAt).toBe(at['c']!.startedAt);
    expect(Date.parse(at['d']!.startedAt!)).toBeGreaterThanOrEqual(
      Math.max(Date.parse(at['b']!.finishedAt!), Date.parse(at['c']!.finishedAt!)),
    );
    expect((at['d']!.output as { path: string }).path).toContain('/runs/');
  });

  it('a step whose condition is false is skipped with the reason; steps after it still run', async () => {
    const spec = definePipeline({
      id: 'conditional',
      params: { profile: { type: 'boolean', default: false } },
      steps: [
        {
          id: 'profile',
          activity: 'profileDataset',
          when: { param: 'profile', equals: true },
          params: { source: 'node_modules/vega-datasets/data/seattle-weather.csv' },
        },
        { id: 'summarize', activity: 'writeRunSummary', needs: ['profile'] },
      ],
    });
    const skipped = await followRun(
      await startRun(t.client, t.config, spec, { runParams: resolveRunParams(spec, {}) }),
      () => undefined,
    );
    expect(skipped.state).toBe('succeeded');
    expect(skipped.steps.map((s) => [s.id, s.state, s.skippedReason ?? null])).toEqual([
      ['profile', 'skipped', 'condition: profile == true is false'],
      ['summarize', 'succeeded', null],
    ]);
    const ran = await followRun(
      await startRun(t.client, t.config, spec, { runParams: resolveRunParams(spec, { profile: 'true' }) }),
      () => undefined,
    );
    expect(ran.steps.map((s) => s.state)).toEqual(['succeeded', 'succeeded']);
    expect(() => buildPipeline({ ...spec, id: 'bad', params: {} })).toThrow(
      'step "profile" has a condition on parameter "profile", which the pipeline does not declare: add it under params',
    );
  });
});
