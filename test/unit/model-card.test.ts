import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { TopLevelSpec } from 'vega-lite';
import { beforeAll, describe, expect, it } from 'vitest';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { withDuckDB } from '../../lib/duckdb.js';
import { evaluateModelStep } from '../../activities/evaluate/evaluate-model.js';
import { renderCharts } from '../../activities/model-card/charts.js';
import { renderModelCardStep } from '../../activities/model-card/render-model-card.js';
import { trainedBy } from '../../activities/model-card/render-html.js';
import { trainModelStep, type TrainModelOutput } from '../../activities/train/train-model.js';
import { deriveBlessing } from '../../pipelines/blessing.js';
import type { Blessing, EvaluationSummary } from '../../pipelines/evaluation.js';
import type { JsonObject } from '../../pipelines/json.js';
import type { StepInput } from '../../pipelines/step.js';
import { dataDir, projectRoot } from '../support/paths.js';
import { penguinTrainParams } from './data-fixtures.js';

let home: string;
let evaluated: EvaluationSummary;
let blessing: Blessing;
const bless = {
  auc: { min: 0.6 },
  vsProduction: { auc: { minDelta: 0 } },
  fairness: { demographicParityDifference: { max: 0.2 } },
};

function step(id: string, params: JsonObject, inputs: JsonObject = {}): StepInput {
  return {
    run: { pipeline: 'flight-delay', workflowId: 'flight-delay-1', runId: 'r1', trigger: 'manual' },
    step: id,
    params,
    runParams: {},
    inputs,
  };
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-card-'));
  const deps = { home, dataRoots: [home, projectRoot] };
  const source = join(home, 'flights.parquet');
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT * FROM read_parquet('${join(dataDir, 'flights-3m.parquet')}') ORDER BY md5(date::VARCHAR || origin || destination) LIMIT 6000) TO '${source}' (FORMAT parquet)`,
    ),
  );
  const params = {
    source,
    features: {
      numeric: ['distance', { name: 'hour', sql: 'hour(date)' }],
      categorical: [
        { name: 'weekday', sql: 'dayofweek(date)' },
        { name: 'origin', topK: 10 },
      ],
    },
    label: { sql: 'delay > 15', task: 'binary' },
    split: { kind: 'hash', key: 'date::VARCHAR || origin || destination', test: 0.25 },
  };
  const train = (trainer: JsonObject): Promise<TrainModelOutput> =>
    new MockActivityEnvironment().run(() => trainModelStep(deps, step('train', { ...params, trainer })));
  const production = await train({ model: 'logistic', epochs: 3, classWeight: 'balanced' });
  const candidate = await train({
    model: 'mlp',
    layers: [16, 8],
    epochs: 6,
    batchSize: 64,
    classWeight: 'balanced',
  });
  evaluated = await evaluateModelStep(
    deps,
    step('evaluate', {
      model: candidate.model,
      production: production.model,
      slices: ['origin'],
      fairness: [{ name: 'weekend', sql: 'dayofweek(date) IN (0, 6)' }],
      bootstrap: { replicates: 50, seed: 1 },
      bless,
    }),
  );
  // What the workflow passes on to the card: the evaluation with the blessing it derived.
  const derived = deriveBlessing('evaluate', { bless }, evaluated as unknown as JsonObject);
  if ('error' in derived) throw new Error(derived.error);
  blessing = derived;
}, 60_000);

describe('model card', () => {
  it('renders HTML with a verdict, plain-language metrics, fairness, slices and server-side SVG charts, plus JSON', async () => {
    const card = await renderModelCardStep(
      home,
      step(
        'card',
        {
          title: 'Flight delay predictor',
          purpose: 'Warn passengers when their flight is likely to be more than 15 minutes late.',
          intendedUse: 'Advisory notices in the travel app; not for crew scheduling.',
          limitations: ['Trained on the first half of 2001 only.'],
          owner: 'Operations analytics',
        },
        { evaluate: { ...evaluated, blessing } as unknown as JsonObject },
      ),
    );
    expect(card.blessed).toBe(blessing.blessed);
    // ROC, PR, calibration, calibration before/after (the class-weighted MLP is recalibrated by default),
    // confusion, fairness, slices, training.
    expect(card.charts).toBe(8);
    const store = createArtifactStore(home);
    const html = (await store.readBytes(card.html)).toString('utf8');
    expect(html).toContain(blessing.blessed ? 'Recommended for approval' : 'Not recommended for approval');
    for (const reason of blessing.reasons)
      expect(html).toContain(reason.message.replace(/</g, '&lt;').replace(/>/g, '&gt;'));
    expect(html).toContain('Warn passengers when their flight is likely to be more than 15 minutes late.');
    expect(html).toContain('Ranking quality (ROC-AUC)');
    expect(html).toContain('Production model');
    expect(html).toMatch(/>production</); // the curves' legend
    expect(html).toContain('Fairness across weekend');
    expect(html).toContain('Results by slice');
    expect(html.match(/<svg /g)?.length).toBe(8);
    expect(html).toContain('Calibrated probabilities');
    expect(html).toContain('Platt scaling');
    expect(html).not.toContain('could not be drawn');
    const json = await store.readJson<JsonObject>(card.json);
    expect(json).toMatchObject({
      format: 'sluice-model-card/1',
      title: 'Flight delay predictor',
      verdict: { blessed: card.blessed },
      calibration: { method: 'platt' },
    });
    const calibration = json['calibration'] as { eceBefore: number; eceAfter: number };
    expect(calibration.eceAfter).toBeLessThan(calibration.eceBefore);
    expect(card.html.uri).toBe(`sluice://sha256/${card.html.sha256}`);
    expect(await readFile(await store.open(card.html), 'utf8')).toBe(html);
  });

  it('never fails on a chart: a broken spec or a spent drawing budget is named on the card instead', async () => {
    const broken = {
      id: 'x',
      title: 'Broken',
      caption: '',
      spec: { mark: 'nonsense' } as unknown as TopLevelSpec,
    };
    const [failed] = await renderCharts([broken]);
    expect(failed).toMatchObject({ id: 'x', svg: null });
    expect(failed!.error).toBeTruthy();
    const fine = {
      id: 'y',
      title: 'Fine',
      caption: '',
      spec: {
        data: { values: [{ a: 1 }] },
        mark: 'point',
        encoding: { x: { field: 'a', type: 'quantitative' } },
      } as TopLevelSpec,
    };
    const [skipped] = await renderCharts([fine], 0);
    expect(skipped).toMatchObject({ svg: null, error: "skipped: the card's 0 s drawing budget ran out" });
    const [drawn] = await renderCharts([fine]);
    expect(drawn!.svg).toMatch(/^<svg /);
  });

  it('words a multi-class card as multi-class: averages over classes, no doubled quotes, every slice, only the settings used', async () => {
    const deps = { home, dataRoots: [home, projectRoot] };
    const trained: TrainModelOutput = await new MockActivityEnvironment().run(() =>
      trainModelStep(deps, step('train', penguinTrainParams(dataDir))),
    );
    const multiBless = { accuracy: { min: 0.5 } };
    // Beak depth has dozens of values: beyond maxGroups 5 they are counted, not dropped in silence.
    const report = await evaluateModelStep(
      deps,
      step('evaluate', {
        model: trained.model,
        slices: ['Island', { name: 'depth', sql: '"Beak Depth (mm)"' }],
        maxGroups: 5,
        bootstrap: { replicates: 20, seed: 1 },
        bless: multiBless,
      }),
    );
    const derived = deriveBlessing('evaluate', { bless: multiBless }, report as unknown as JsonObject);
    if ('error' in derived) throw new Error(derived.error);
    const card = await renderModelCardStep(
      home,
      step('card', {}, { evaluate: { ...report, blessing: derived } as unknown as JsonObject }),
    );
    const store = createArtifactStore(home);
    const html = (await store.readBytes(card.html)).toString('utf8');
    const json = await store.readJson<JsonObject>(card.json);
    const text = JSON.stringify(json);
    // Multi-class measures say they average over classes; no binary "threshold" or "where … and one where it does not".
    expect(html).toContain('For each class in turn, given one case of that class and one of another');
    expect(html).toContain('get the right class (the one the model finds most likely)');
    expect(html).not.toContain('at the chosen threshold');
    expect(html).not.toContain('one where it does not');
    // The label reads as a name, not SQL in quotes inside quotes.
    expect(html).toContain('Which “Species” it is');
    expect(text).not.toMatch(/“\\"|\\"”/);
    // No production model, so no "production" in any legend or column.
    expect(html).not.toContain('Production model');
    expect(html).not.toMatch(/>production</);
    // A softmax model has no hidden layers, dropout or activation to list.
    const settings = (json['model'] as JsonObject)['hyperparameters'] as JsonObject;
    expect(settings).toMatchObject({ model: 'softmax', epochs: 30 });
    expect(Object.keys(settings)).not.toEqual(expect.arrayContaining(['layers']));
    expect(settings).not.toHaveProperty('dropout');
    // Torgersen has Adelie penguins only: AUC is undefined there, and the card says so instead of leaving it out.
    const torgersen = report.slices.find((r) => r.slice === 'Island' && r.value === 'Torgersen');
    expect(torgersen?.metrics['auc']).toBeNull();
    expect(html).toMatch(
      /Island = Torgersen<\/td><td class="num">\d+<\/td>(<td class="num">[^<]*(<span[^>]*>too small<\/span>)?[^<]*<\/td>)*/,
    );
    expect(html).toContain('too small</span>');
    const sliceChart = (json['charts'] as JsonObject[]).find((c) => c['id'] === 'slices');
    expect(sliceChart?.['caption']).toMatch(
      /Too small to measure AUC on, so not drawn: Island = Torgersen \(\d+ cases\)/,
    );
    // Groups beyond maxGroups are counted on the card.
    const omitted = (json['slicesOmitted'] as { slice: string; groups: number; rows: number }[]).find(
      (o) => o.slice === 'depth',
    );
    expect(omitted?.groups).toBeGreaterThan(10);
    expect(html).toContain(
      `depth: ${omitted!.groups} smaller groups (${omitted!.rows} cases in all) not scored one by one`,
    );
  });
});

describe('the card says how the model was trained', () => {
  const model = (engine: string, training: { bestEpoch: number; epochsRun: number; stoppedEarly: boolean }) =>
    ({ engine, backend: 'wasm', seed: 7, training }) as Parameters<typeof trainedBy>[0];
  it('epochs for a network, rounds for trees, one fit for your own trainer; TF.js only when it trained', () => {
    expect(trainedBy(model('tfjs', { bestEpoch: 4, epochsRun: 6, stoppedEarly: true }))).toBe(
      'tfjs trainer, TF.js backend wasm, seed 7; best epoch 4 of 6 (stopped early)',
    );
    expect(trainedBy(model('typed-array', { bestEpoch: 3, epochsRun: 3, stoppedEarly: false }))).toBe(
      'typed-array trainer, seed 7; best epoch 3 of 3',
    );
    expect(trainedBy(model('gbdt', { bestEpoch: 80, epochsRun: 100, stoppedEarly: true }))).toBe(
      'gbdt trainer, seed 7; best round 80 of 100 (stopped early)',
    );
    expect(trainedBy(model('custom (logistic)', { bestEpoch: 1, epochsRun: 1, stoppedEarly: false }))).toBe(
      "custom (logistic) trainer, seed 7; one fit (your trainer's own iterations are not recorded)",
    );
  });
});
