import { copyFile, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostileDir, writeDeepJson } from '../fixtures/hostile/generate.js';
import { runStart } from '../../client/runs.js';
import { firstDag } from '../../pipelines/first-dag.pipeline.js';
import type { DagInput } from '../../workflows/index.js';
import { sluice } from '../support/cli.js';
import { useTestWorker } from '../support/worker.js';

/**
 * A few hostile inputs (test/fixtures/hostile/README.md) through the real `sluice` command and a real
 * worker on the dev server: each fails with one line naming the thing and the fix, the failing step is
 * not retried, nothing lands in the artifact store, and the same worker then runs a good pipeline.
 */

const t = useTestWorker();

async function artifacts(): Promise<string[]> {
  const entries = await readdir(join(t.config.home, 'artifacts'), {
    recursive: true,
    withFileTypes: true,
  }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** The one `sluice:` line of a failed command. */
function failure(stderr: string): string {
  const lines = stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('sluice:'));
  expect(lines).toHaveLength(1);
  return lines[0] ?? '';
}

/** Whether the run's failed activity was failed for good on its first attempt (non-retryable). */
async function failedOnceForGood(workflowId: string): Promise<{ attempts: number; nonRetryable: boolean }> {
  const history = await t.client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const started = events.filter((e) => e.activityTaskStartedEventAttributes);
  const failed = events.find((e) => e.activityTaskFailedEventAttributes);
  return {
    attempts: Math.max(...started.map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0)),
    nonRetryable:
      failed?.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.nonRetryable === true,
  };
}

describe('hostile inputs through the sluice command and a real worker', () => {
  it('sluice ingest on garbage and on 100 000-level JSON: exit 1, one line, nothing stored; a good file then ingests', async () => {
    const garbage = join(t.config.home, 'garbage.csv');
    await copyFile(join(hostileDir, 'garbage.csv'), garbage);
    const deep = join(t.config.home, 'deep.json');
    await writeDeepJson(deep, 100_000);
    const before = await artifacts();

    const bad = await sluice(['ingest', garbage], t.env);
    expect(bad.code).toBe(1);
    expect(failure(bad.stderr)).toMatch(
      /^sluice: source \S+garbage\.csv is not valid UTF-8: line 1, byte 4 of the line .*re-encode it as UTF-8/,
    );
    const crash = await sluice(['ingest', deep], t.env);
    expect(crash.code).toBe(1); // was 139: DuckDB's JSON reader overflowed its stack
    expect(failure(crash.stderr)).toMatch(
      /^sluice: source \S+deep\.json nests arrays or objects more than 256 levels deep \(line 1, column 261\)/,
    );
    expect(await artifacts()).toEqual(before);

    const bom = join(t.config.home, 'bom.csv');
    await copyFile(join(hostileDir, 'bom.csv'), bom);
    const ok = await sluice(['ingest', bom, '--json'], t.env);
    expect(ok.code).toBe(0);
    const doc = JSON.parse(ok.stdout) as { dataset: { rows: number; schema: { name: string }[] } };
    expect(doc.dataset.rows).toBe(3);
    expect(doc.dataset.schema.map((c) => c.name)).toEqual(['id', 'name', 'score']);
  });

  it('runs whose source escapes the data roots, or would crash DuckDB, fail their step once and for good; the worker then runs a good pipeline', async () => {
    const link = join(t.config.home, 'innocent.csv');
    await symlink('/etc/passwd', link);
    const deep = join(t.config.home, 'deep-run.json');
    await writeDeepJson(deep, 50_000);
    const cases: [string, RegExp][] = [
      [
        'file:///etc/passwd',
        /source file:\/\/\/etc\/passwd resolves to \/etc\/passwd, outside the allowed data roots/,
      ],
      [
        '../../../../../../etc/passwd',
        /resolves to \/etc\/passwd, outside the allowed data roots .*SLUICE_DATA_ROOTS/,
      ],
      [link, /innocent\.csv resolves to \/etc\/passwd, outside the allowed data roots/],
      [deep, /deep-run\.json nests arrays or objects more than 256 levels deep/],
    ];
    const before = await artifacts();
    const results = await Promise.all(
      cases.map(([source]) =>
        sluice(['run', 'first-dag', '--wait', '--param', `source=${source}`], t.env, 120_000),
      ),
    );
    for (const [i, result] of results.entries()) {
      const [, message] = cases[i]!;
      expect(result.code).toBe(1);
      const line = failure(result.stderr);
      expect(line).toMatch(/^sluice: run first-dag-\S+ failed: step "profile" failed: /);
      expect(line).toMatch(message);
      const workflowId = /run (first-dag-\S+) failed/.exec(line)?.[1] ?? '';
      expect(await failedOnceForGood(workflowId)).toEqual({ attempts: 1, nonRetryable: true });
    }
    expect(await artifacts()).toEqual(before);

    const good = await sluice(['run', 'first-dag', '--wait', '--json'], t.env, 120_000);
    expect(good.code).toBe(0);
    const doc = JSON.parse(good.stdout) as { state: string; steps: { id: string; state: string }[] };
    expect(doc.state).toBe('succeeded');
    expect(doc.steps.map((s) => `${s.id}:${s.state}`)).toEqual(['profile:succeeded', 'summarize:succeeded']);
  });

  it('a pipeline file with a cycle, and absurd --param values, are refused before anything starts', async () => {
    const cycle = await sluice(['run', 'test/fixtures/hostile/cycle.pipeline.ts'], t.env);
    expect(cycle.code).toBe(1);
    expect(failure(cycle.stderr)).toBe(
      'sluice: pipeline "hostile-cycle": steps form a cycle load → train → clean → load: remove one of these dependencies',
    );
    const absurd = await sluice(['run', 'test/fixtures/hostile/absurd-train.pipeline.ts'], t.env);
    expect(absurd.code).toBe(1);
    expect(failure(absurd.stderr)).toMatch(
      /^sluice: pipeline "hostile-absurd": step "train" params are invalid: trainer\.epochs: Too big: expected number to be <=1000; trainer\.batchSize: Too small: expected number to be >=1/,
    );
    const param = await sluice(['run', 'first-dag', '--param', 'constructor=1'], t.env);
    expect(param.code).toBe(1);
    expect(failure(param.stderr)).toBe(
      'sluice: pipeline "first-dag" has no parameter "constructor": known parameters are source',
    );
  });

  it('a pipeline naming an activity Sluice does not register is refused before it starts', async () => {
    const run = await sluice(['run', 'test/fixtures/hostile/unknown-activity.pipeline.ts', '--wait'], t.env);
    expect(run.code).toBe(1);
    expect(failure(run.stderr)).toMatch(
      /^sluice: step "profile" of pipeline "hostile-unknown-activity" \(test\/fixtures\/hostile\/unknown-activity\.pipeline\.ts\) names activity "profileDatset", which Sluice does not register and no step module loaded here defines: use one of profileDataset, /,
    );
  });

  it('a client that bypasses definePipeline and the CLI: a cyclic spec and an unknown activity fail the run, not the worker', async () => {
    const { input } = await runStart(t.config, firstDag, { runParams: {} });
    const raw = JSON.parse(JSON.stringify(input)) as DagInput;
    const start = (spec: DagInput['spec'], id: string) =>
      t.client.workflow.start('dagWorkflow', {
        taskQueue: t.config.taskQueues.orchestration,
        workflowId: `hostile-${id}-${Date.now()}`,
        args: [{ ...raw, spec }],
      });
    const cyclic = await start(
      {
        ...raw.spec,
        steps: raw.spec.steps.map((s) => (s.id === 'profile' ? { ...s, needs: ['summarize'] } : s)),
      },
      'cycle',
    );
    const unknown = await start(
      {
        ...raw.spec,
        steps: raw.spec.steps.map((s) => (s.id === 'profile' ? { ...s, activity: 'rmRf' } : s)),
      },
      'unknown',
    );
    const outcome = (handle: typeof cyclic) =>
      handle.result().then(
        () => 'succeeded',
        (error: unknown) => String((error as { cause?: Error }).cause?.message ?? error),
      );
    expect(await outcome(cyclic)).toBe(
      'pipeline "first-dag": steps form a cycle profile → summarize → profile: remove one of these dependencies',
    );
    expect(await outcome(unknown)).toMatch(
      /^step "profile" failed: Activity function rmRf is not registered on this Worker, available activities: \["profileDataset",/,
    );
    // Known gap (reported with the corpus): the worker's "not registered" failure is retryable, so the
    // step uses its whole retry policy before failing. `sluice run`, triggers and schedules refuse such a
    // spec before starting (runStart); only a client starting dagWorkflow by hand gets here.
    expect(await failedOnceForGood(unknown.workflowId)).toEqual({
      attempts: raw.spec.steps[0]?.retry.maxAttempts,
      nonRetryable: false,
    });
    const good = await sluice(['run', 'first-dag', '--wait'], t.env, 120_000);
    expect(good.code).toBe(0);
  });
});
