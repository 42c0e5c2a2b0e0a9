import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import type { ArtifactRef } from '../../pipelines/artifact.js';
import type { DagStatus } from '../../workflows/index.js';
import { sluice } from '../support/cli.js';
import { projectRoot } from '../support/paths.js';
import { useTestWorker } from '../support/worker.js';

const t = useTestWorker();
const pipelineFile = 'test/integration/fixtures/unlabelled.pipeline.ts';
const source = join(projectRoot, 'node_modules/vega-datasets/data/seattle-weather.csv');
const leftOut = `48 of 1,461 rows of ${source} (3.3%) were left out of training and evaluation: 48 with no label ("rainy" is NULL)`;

describe('rows training leaves out are said in the status, the card and the audit report', () => {
  it('counts the unlabelled rows and shows them wherever a person looks', async () => {
    const run = await sluice(['run', pipelineFile, '--wait', '--json'], t.env, 240_000);
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as DagStatus & { workflowId: string };
    expect(status.state).toBe('succeeded');
    // Followed live: the step's line carries the warning.
    expect(run.stderr).toContain(`! ${leftOut}`);
    const train = status.steps.find((s) => s.id === 'train')!.output as {
      rows: Record<string, number>;
      dropped: Record<string, number>;
    };
    expect(train.dropped).toEqual({ source: 1461, noSplit: 0, missingLabel: 48, unusableLabel: 0 });
    expect(train.rows['train']! + train.rows['validation']! + train.rows['test']!).toBe(1461 - 48);

    const shown = await sluice(['status', status.workflowId], t.env);
    expect(shown.stdout).toContain(`warning at train: ${leftOut}`);

    const card = status.steps.find((s) => s.id === 'card')!.output as {
      json: ArtifactRef;
      html: ArtifactRef;
    };
    const store = createArtifactStore(t.config.home, t.config.artifacts);
    const cardData = await store.readJson<{ data: { leftOut: string | null } }>(card.json);
    expect(cardData.data.leftOut).toBe(
      '48 of 1,461 rows of the training data (3.3%) were left out of training and evaluation: 48 with no label ("rainy" is NULL)',
    );
    expect(await readFile(await store.open(card.html), 'utf8')).toContain('48 with no label');

    const report = await sluice(['audit', 'report', status.workflowId], t.env, 120_000);
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(
      /Source rows left out\W+48 of 1461: 48 with no label, 0 with an unusable label, 0 in no split/,
    );
    expect(report.stdout.replaceAll('\\_', '_')).toContain(`Step train warned: ${leftOut}.`); // Markdown escapes _
  });

  it('fails the step, storing no model, when more rows lack a label than label.maxMissingFraction allows', async () => {
    const run = await sluice(
      ['run', pipelineFile, '--param', 'maxMissing=0.02', '--wait', '--json'],
      t.env,
      240_000,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `48 of 1,461 rows of ${source} (3.3%) have no usable label ("rainy": 48 NULL, 0 unusable), more than label.maxMissingFraction 0.02 of step "train"`,
    );
    const workflowId = /started (\S+)/.exec(run.stderr)![1]!;
    const shown = await sluice(['status', workflowId, '--json'], t.env);
    const status = (JSON.parse(shown.stdout) as { status: DagStatus }).status;
    const states = Object.fromEntries(status.steps.map((s) => [s.id, [s.state, s.attempt ?? 1]]));
    // Bad data is not retried, and nothing after it ran: no model, no evaluation, no card.
    expect(states).toMatchObject({ ingest: ['succeeded', 1], train: ['failed', 1] });
    expect(status.steps.find((s) => s.id === 'train')!.output).toBeUndefined();
    expect(
      status.steps.filter((s) => s.id === 'evaluate' || s.id === 'card').map((s) => s.state),
    ).not.toContain('succeeded');
  });
});
