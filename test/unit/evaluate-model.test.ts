import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { withDuckDB } from '../../lib/duckdb.js';
import { evaluateModelStep } from '../../activities/evaluate/evaluate-model.js';
import { trainModelStep, type TrainModelOutput } from '../../activities/train/train-model.js';
import { deriveBlessing } from '../../pipelines/blessing.js';
import { DataValidationError, InvalidInputError } from '../../pipelines/errors.js';
import type { Blessing, EvaluationSummary } from '../../pipelines/evaluation.js';
import type { JsonObject } from '../../pipelines/json.js';
import type { StepInput } from '../../pipelines/step.js';
import { penguinTrainParams } from './data-fixtures.js';
import { dataDir, projectRoot } from '../support/paths.js';

let home: string;
let deps: { home: string; dataRoots: string[] };
let logistic: TrainModelOutput;
let mlp: TrainModelOutput;

const flightParams = {
  source: 'flights.parquet',
  features: {
    numeric: ['distance', { name: 'hour', sql: 'hour(date)' }],
    categorical: [
      { name: 'weekday', sql: 'dayofweek(date)' },
      { name: 'origin', topK: 15 },
    ],
  },
  label: { sql: 'delay > 15', task: 'binary' },
  split: {
    kind: 'hash',
    key: 'date::VARCHAR || origin || destination',
    seed: 3,
    validation: 0.15,
    test: 0.25,
  },
};

function step(params: JsonObject, inputs: JsonObject = {}): StepInput {
  return {
    run: { pipeline: 'p', workflowId: 'wf', runId: 'r', trigger: 'manual' },
    step: 'evaluate',
    params,
    runParams: {},
    inputs,
  };
}

function train(params: JsonObject): Promise<TrainModelOutput> {
  return new MockActivityEnvironment().run(() => trainModelStep(deps, step(params)));
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-eval-'));
  deps = { home, dataRoots: [home, projectRoot] };
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT * FROM read_parquet('${join(dataDir, 'flights-3m.parquet')}') ORDER BY md5(date::VARCHAR || origin || destination) LIMIT 8000) TO '${join(home, 'flights.parquet')}' (FORMAT parquet)`,
    ),
  );
  logistic = await train({ ...flightParams, trainer: { model: 'logistic', epochs: 5 } });
  mlp = await train({ ...flightParams, trainer: { model: 'mlp', layers: [16], epochs: 5, batchSize: 64 } });
}, 60_000);

describe('evaluateModel', () => {
  const evaluate = {
    slices: ['origin', { name: 'long-haul', where: 'distance > 1000' }],
    fairness: [{ name: 'weekend', sql: 'dayofweek(date) IN (0, 6)' }],
    bootstrap: { replicates: 100, seed: 1 },
    bless: {
      auc: { min: 0.55 },
      vsProduction: { auc: { minDelta: -0.2 } },
      fairness: { demographicParityDifference: { max: 0.5 } },
    },
  };

  it('evaluates on the held-out split with intervals, slices, fairness, the production comparison and a blessing', async () => {
    const summary = await evaluateModelStep(
      deps,
      step({ ...evaluate, production: logistic.model }, { train: mlp as unknown as JsonObject }),
    );
    expect(summary.model).toEqual(mlp.model);
    expect(summary.rows).toBe(mlp.rows.test);
    const auc = summary.metrics.auc!;
    expect(auc.value!).toBeGreaterThan(0.55);
    expect(auc.lo!).toBeLessThan(auc.value!);
    expect(auc.hi!).toBeGreaterThan(auc.value!);
    expect(Object.keys(summary.metrics)).toEqual([
      'auc',
      'prAuc',
      'logLoss',
      'accuracy',
      'precision',
      'recall',
      'f1',
      'brier',
      'ece',
    ]);
    // The comparison: same rows, delta = candidate − production, with a paired interval.
    const production = summary.production!;
    expect(production.model).toEqual(logistic.model);
    expect(production.delta.auc!.value).toBeCloseTo(auc.value! - production.metrics.auc!.value!, 10);
    expect(production.delta.auc!.lo!).toBeLessThanOrEqual(production.delta.auc!.value!);
    // Slices: the most frequent origins (at most 20) and the condition slice.
    const origins = summary.slices.filter((s) => s.slice === 'origin');
    expect(origins.length).toBe(20);
    expect(origins[0]!.rows).toBeGreaterThanOrEqual(origins[1]!.rows);
    const longHaul = summary.slices.find((s) => s.slice === 'long-haul')!;
    expect(longHaul.value).toBe('true');
    expect(longHaul.rows).toBeGreaterThan(100);
    // Fairness across weekend/weekday.
    const weekend = summary.fairness[0]!;
    expect(weekend.groups.map((g) => g.value)).toEqual(['false', 'true']);
    expect(weekend.groups[0]!.rows + weekend.groups[1]!.rows).toBe(summary.rows);
    const rates = weekend.groups.map((g) => g.selectionRate!);
    expect(weekend.summary.demographicParityDifference.value).toBeCloseTo(
      Math.max(...rates) - Math.min(...rates),
      10,
    );
    // Measurements only: the blessing is the workflow's, derived from them and the spec's thresholds.
    expect(summary).not.toHaveProperty('blessing');
    const blessing = blessingOf(evaluate, summary);
    expect(blessing.reasons.map((r) => r.check)).toEqual([
      'auc min',
      'auc vs production',
      'demographicParityDifference across weekend max',
    ]);
    expect(blessing.blessed).toBe(blessing.reasons.every((r) => r.passed));
    const stored = await createArtifactStore(home).readJson<JsonObject>(summary.evaluation);
    expect(stored).toMatchObject({ format: 'sluice-evaluation/1', bless: { auc: { min: 0.55 } } });
    expect(stored).not.toHaveProperty('blessing');
    expect((stored['details'] as { roc: unknown[] }).roc.length).toBeGreaterThan(10);

    // Seeded: the same evaluation again is the same artifact.
    const again = await evaluateModelStep(
      deps,
      step({ ...evaluate, model: mlp.model, production: logistic.model }),
    );
    expect(again.evaluation.sha256).toBe(summary.evaluation.sha256);
  });

  it('refuses a model that misses its bar, listing why', async () => {
    const bless = { auc: { min: 0.99 }, logLoss: { max: 0.01 } };
    const summary = await evaluateModelStep(deps, step({ model: mlp.model, bless }));
    const blessing = blessingOf({ bless }, summary);
    expect(blessing.blessed).toBe(false);
    expect(blessing.reasons.map((r) => r.message)).toEqual([
      expect.stringMatching(/^auc 0\.\d+ < minimum 0\.99$/),
      expect.stringMatching(/^logLoss 0\.\d+ > maximum 0\.01$/),
    ]);
  });

  it('slices by a feature the model derived, and names the pipeline file, the field and a near name for an unknown one', async () => {
    const byHour = await evaluateModelStep(deps, step({ model: logistic.model, slices: ['hour'] }));
    expect(byHour.slices.filter((s) => s.slice === 'hour').length).toBeGreaterThan(5);

    const input = step({ model: logistic.model, slices: ['origin', 'orign'] }, { train: logistic });
    input.run.file = 'pipelines/flights.pipeline.ts';
    const typo = await evaluateModelStep(deps, input).catch((e: unknown) => e);
    expect(typo).toBeInstanceOf(InvalidInputError);
    expect((typo as Error).message).toBe(
      'slice "orign" (slices[1] of step "evaluate" of pipelines/flights.pipeline.ts) is neither a column of ' +
        'flights.parquet nor a feature the model derived: did you mean "origin"? the columns are date, delay, distance, origin, destination, ' +
        'the derived features hour, weekday; fix the name or give { name, sql }',
    );
  });

  it('refuses an empty slice, bad slice SQL, and fairness on a non-binary model', async () => {
    const empty = await evaluateModelStep(
      deps,
      step({ model: mlp.model, slices: [{ name: 'to-mars', where: "origin = 'MARS'" }] }),
    ).catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(DataValidationError);
    expect((empty as Error).message).toMatch(
      /evaluation slice "to-mars" has no rows in the evaluation set \(test\)/,
    );
    const bad = await evaluateModelStep(
      deps,
      step({ model: mlp.model, slices: [{ name: 'planet', sql: 'planet_of(origin)' }] }),
    ).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InvalidInputError);
    expect((bad as Error).message).toMatch(
      /^slice "planet" \(slices\[0\] of step "evaluate": .*\) is not valid SQL over flights\.parquet: /,
    );

    const elsewhere = await evaluateModelStep(
      deps,
      step({ model: mlp.model, source: join(dataDir, 'penguins.json') }),
    ).catch((e: unknown) => e);
    expect(elsewhere).toBeInstanceOf(InvalidInputError);
    expect((elsewhere as Error).message).toMatch(
      /^the model cannot read .*penguins\.json: .*distance.*; evaluate on data with the columns it was trained on \(distance, hour, weekday, origin\)$/,
    );

    const penguins = await train(penguinTrainParams(dataDir));
    const multi = await evaluateModelStep(deps, step({ model: penguins.model, slices: ['Island'] }));
    expect(multi.metrics.accuracy!.value!).toBeGreaterThan(0.85);
    expect(multi.metrics.auc!.value!).toBeGreaterThan(0.9);
    const fairness = await evaluateModelStep(
      deps,
      step({ model: penguins.model, fairness: ['Island'] }),
    ).catch((e: unknown) => e);
    expect((fairness as Error).message).toMatch(
      /fairness metrics .* need a binary model, and this one is multiclass/,
    );
  });

  it('regression: RMSE, MAE and R² on a time split', async () => {
    const weather = await train({
      source: join(dataDir, 'seattle-weather.csv'),
      features: { numeric: ['temp_min', 'precipitation', 'wind', { name: 'month', sql: 'month(date)' }] },
      label: { column: 'temp_max', task: 'regression' },
      split: { kind: 'time', column: 'date', validationFrom: '2014-07-01', testFrom: '2015-01-01' },
      trainer: { model: 'linear', epochs: 40, learningRate: 0.05, batchSize: 32 },
    });
    const summary = await evaluateModelStep(
      deps,
      step({ model: weather.model, bless: { r2: { min: 0.7 } } }),
    );
    const blessing = blessingOf({ bless: { r2: { min: 0.7 } } }, summary);
    expect(summary.metrics.r2!.value!).toBeGreaterThan(0.7);
    expect(summary.metrics.rmse!.value!).toBeLessThan(4);
    expect(blessing.blessed).toBe(true);
  });
});

/** The blessing the workflow derives from an evaluation and its step's params. */
function blessingOf(params: object, summary: EvaluationSummary): Blessing {
  const blessing = deriveBlessing('evaluate', params as JsonObject, summary as unknown as JsonObject);
  if ('error' in blessing) throw new Error(blessing.error);
  return blessing;
}
