import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateModelStep } from '../../activities/evaluate/evaluate-model.js';
import type { EvaluationReport } from '../../activities/evaluate/evaluate-core.js';
import type { ImportanceReport } from '../../activities/evaluate/importance.js';
import type { CardImportance } from '../../activities/model-card/importance-words.js';
import { renderModelCardStep } from '../../activities/model-card/render-model-card.js';
import { trainModelStep, type TrainModelOutput } from '../../activities/train/train-model.js';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { withDuckDB } from '../../lib/duckdb.js';
import { deriveBlessing } from '../../pipelines/blessing.js';
import type { EvaluationSummary } from '../../pipelines/evaluation.js';
import type { JsonObject } from '../../pipelines/json.js';
import type { StepInput } from '../../pipelines/step.js';
import { dataDir, projectRoot } from '../support/paths.js';

let home: string;
const bless = { auc: { min: 0.5 } };

const params = (trainer: JsonObject): JsonObject => ({
  source: 'flights.parquet',
  features: {
    numeric: ['distance', { name: 'hour', sql: 'hour(date)' }],
    categorical: [{ name: 'origin', topK: 20 }],
  },
  label: { sql: 'delay > 15', task: 'binary' },
  split: { kind: 'hash', key: 'date::VARCHAR || origin || destination', seed: 3, test: 0.25 },
  trainer,
});

function step(id: string, stepParams: JsonObject, inputs: JsonObject = {}): StepInput {
  return {
    run: { pipeline: 'p', workflowId: 'wf', runId: 'r', trigger: 'manual' },
    step: id,
    params: stepParams,
    runParams: {},
    inputs,
  };
}

async function trainAndEvaluate(trainer: JsonObject) {
  const deps = { home, dataRoots: [home, projectRoot] };
  const trained: TrainModelOutput = await new MockActivityEnvironment().run(() =>
    trainModelStep(deps, step('train', params(trainer))),
  );
  const evaluate = (): Promise<EvaluationSummary> =>
    evaluateModelStep(
      deps,
      step(
        'evaluate',
        { bless, slices: [{ name: 'origin' }], maxGroups: 3 },
        { train: trained as unknown as JsonObject },
      ),
    );
  return { trained, evaluated: await evaluate(), again: await evaluate() };
}

async function card(evaluated: EvaluationSummary) {
  const blessing = deriveBlessing('evaluate', { bless }, evaluated as unknown as JsonObject);
  if ('error' in blessing) throw new Error(blessing.error);
  const out = await renderModelCardStep(
    home,
    step(
      'card',
      { purpose: 'Plan gates.', intendedUse: 'Operations.', limitations: [], owner: 'ops' },
      { evaluate: { ...evaluated, blessing } as unknown as JsonObject },
    ),
  );
  const store = createArtifactStore(home);
  const html = (await store.readBytes(out.html)).toString('utf8');
  const json = (await store.readJson<JsonObject>(out.json)) as unknown as {
    importance: CardImportance | null;
  };
  return { html, importance: json.importance };
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-importance-'));
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT * FROM read_parquet('${join(dataDir, 'flights-3m.parquet')}') ORDER BY md5(date::VARCHAR || origin || destination) LIMIT 6000) TO '${join(home, 'flights.parquet')}' (FORMAT parquet)`,
    ),
  );
}, 60_000);

describe('feature importance on the evaluation and the model card', () => {
  it('GBDT: ranks every feature overall and per slice, says what drives the model, and is deterministic', async () => {
    const { evaluated, again } = await trainAndEvaluate({
      model: 'gbdt',
      rounds: 25,
      minDataPerCategory: 20,
    });
    const store = createArtifactStore(home);
    const report = (await store.readJson<JsonObject>(evaluated.evaluation)) as unknown as EvaluationReport;
    const importance = report.importance as ImportanceReport;
    expect(importance.method).toBe('tree-shap');
    expect(importance.space).toBe('log-odds');
    expect(importance.rows).toBe(Math.min(1000, report.rows));
    expect(importance.global.map((f) => f.feature).sort()).toEqual(['distance', 'hour', 'origin']);
    expect(importance.global.reduce((a, f) => a + f.share, 0)).toBeCloseTo(1, 9);
    // Hour of day is what delays follow most in these flights.
    expect(importance.global[0]!.feature).toBe('hour');
    expect(importance.slices.map((s) => s.slice)).toEqual(['origin', 'origin', 'origin']);
    expect(importance.slices.map((s) => s.value)).toEqual(report.slices.map((s) => s.value));
    for (const s of importance.slices) expect(s.rows).toBeGreaterThan(0);
    // The same model and data give the same figures, byte for byte.
    expect((await store.readJson<JsonObject>(again.evaluation))['importance']).toEqual(report.importance);

    const { html, importance: shown } = await card(evaluated);
    expect(shown && 'sentence' in shown ? shown.sentence : '').toMatch(
      /^Predictions of whether “delay > 15” are driven (mostly|most) by hour \(\d+%\), then by (origin|distance) \(\d+%\) and (origin|distance) \(\d+%\)\.$/,
    );
    expect(html).toContain('What drives the model');
    expect(html).toContain('Predictions of whether “delay &gt; 15” are driven');
    expect(html).toMatch(/origin = \w+<\/td><td class="num">\d+<\/td><td>(Driven|Too few)/);
    expect((await card(again)).importance).toEqual(shown);
  }, 120_000);

  it('an MLP card says there is no exact explainer instead of ranking', async () => {
    const { evaluated } = await trainAndEvaluate({ model: 'mlp', layers: [4], epochs: 2 });
    const { html, importance } = await card(evaluated);
    expect(importance && 'unavailable' in importance ? importance.unavailable : '').toMatch(
      /no exact explainer: explanations are available for gbdt, logistic, softmax, linear models/,
    );
    expect(html).toContain('What drives the model');
  }, 120_000);
});
