import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMatrix } from '../../activities/train/load-matrix.js';
import { sqlIdent } from '../../activities/train/source.js';
import { labelSql } from '../../activities/train/transform-sql.js';
import { trainOnDataset } from '../../activities/train/train-core.js';
import { selectTfBackend } from '../../activities/tf-backend.js';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import { sha256File } from '../../lib/hash.js';
import type { Prediction } from '../../lib/model/loaded-model.js';
import {
  loadNetwork,
  loadScoringModel,
  modelBody,
  predictBatched,
  saveModel,
} from '../../lib/model/model-artifact.js';
import { flightDelay } from '../../pipelines/flight-delay.pipeline.js';
import type { ModelRef } from '../../pipelines/model.js';
import type { ModelVersion, RegistryDescription } from '../../pipelines/registry.js';
import { featuresSchema, labelSchema, splitSchema, trainerSchema } from '../../pipelines/train-spec.js';
import type { FittedTransform } from '../../pipelines/transform.js';
import { guardFromConfig } from '../../serving/guard.js';
import { createServingServer, type ServingServer } from '../../serving/server.js';
import { projectRoot } from '../support/paths.js';

/**
 * Batch/online parity (issue 14): the same rows scored by batch evaluation (DuckDB transform →
 * matrix → model, as the evaluate step does) and by `sluice serve` over HTTP from their source
 * columns must give IDENTICAL predictions, for the shipped flight-delay pipeline and for pipelines
 * with each task and trainer, including a SQL-derived feature (temp_range on seattle-weather).
 */
const data = join(projectRoot, 'node_modules/vega-datasets/data');
const ROWS = 200;

interface Case {
  model: string;
  source: string;
  features: unknown;
  label: unknown;
  split: unknown;
  trainer: unknown;
}

const flightTrain = flightDelay.steps.find((s) => s.id === 'train')?.params as Record<string, unknown>;

const cases: Case[] = [
  {
    // The shipped demo's features, label, split and trainer, on fewer rows and rounds.
    model: 'flight-delay',
    source: 'flights-sample.parquet',
    features: flightTrain['features'],
    label: flightTrain['label'],
    split: flightTrain['split'],
    trainer: { ...(flightTrain['trainer'] as object), rounds: 20 },
  },
  {
    model: 'weather',
    source: join(data, 'seattle-weather.csv'),
    features: {
      numeric: [
        { name: 'temp_range', sql: 'temp_max - temp_min' },
        'precipitation',
        'wind',
        { name: 'month', sql: 'month(date)' },
      ],
      categorical: [{ name: 'wet', sql: "CASE WHEN precipitation > 0 THEN 'wet' ELSE 'dry' END" }],
    },
    label: { column: 'weather', task: 'multiclass' },
    split: { kind: 'hash', key: 'CAST(date AS VARCHAR)', seed: 3 },
    trainer: { model: 'softmax', epochs: 5, seed: 1 },
  },
  {
    model: 'penguins',
    source: join(data, 'penguins.json'),
    features: {
      numeric: [
        'Beak Length (mm)',
        'Flipper Length (mm)',
        { name: 'mass_kg', sql: '"Body Mass (g)" / 1000' },
      ],
      categorical: ['Island', 'Sex'],
    },
    label: { column: 'Species', task: 'multiclass' },
    split: { kind: 'hash', key: `concat_ws('|', Species, Island, "Beak Length (mm)", "Body Mass (g)")` },
    trainer: { model: 'mlp', layers: [8], epochs: 5, seed: 1 },
  },
  {
    model: 'cars',
    source: join(data, 'cars.json'),
    features: {
      numeric: ['Horsepower', 'Weight_in_lbs', { name: 'age', sql: '1983 - year(CAST("Year" AS DATE))' }],
      categorical: ['Origin'],
    },
    label: { column: 'Miles_per_Gallon', task: 'regression', unit: 'mpg' },
    split: { kind: 'hash', key: 'Name', seed: 1 },
    trainer: { model: 'gbdt', rounds: 20, minDataInLeaf: 5, minDataPerCategory: 5 },
  },
];

let home = '';
let server: ServingServer | undefined;
let url = '';
const trained = new Map<string, { ref: ModelRef; transform: FittedTransform; path: string }>();

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-parity-'));
  const store = createArtifactStore(home);
  const flights = join(home, 'flights-sample.parquet');
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT date, delay, distance, origin, destination FROM read_parquet(${sqlString(join(data, 'flights-3m.parquet'))}) WHERE hash(date, origin, destination) % 200 = 0) TO ${sqlString(flights)} (FORMAT parquet)`,
    ),
  );
  const registries: Record<string, RegistryDescription> = {};
  for (const c of cases) {
    const path = c.source === 'flights-sample.parquet' ? flights : c.source;
    const { sha256, bytes } = await sha256File(path);
    const outcome = await trainOnDataset({
      dataset: { path, uri: path, sha256, bytes },
      features: featuresSchema.parse(c.features),
      label: labelSchema.parse(c.label),
      split: splitSchema.parse(c.split),
      trainer: trainerSchema.parse(c.trainer),
    });
    const ref = await saveModel(store, modelBody(outcome), outcome.transform, outcome.metadata);
    trained.set(c.model, { ref, transform: outcome.transform, path });
    const version: ModelVersion = {
      version: 1,
      registeredAt: new Date().toISOString(),
      requestId: `parity-${c.model}`,
      runId: 'parity',
      workflowId: 'parity',
      pipeline: 'parity',
      dataSha256s: [sha256],
      model: ref,
      metrics: {},
      approvals: [],
      registeredBy: 'parity',
    };
    registries[c.model] = {
      model: c.model,
      versions: [version],
      aliases: { production: 1, candidate: null, previous: null },
      eventCount: 0,
    };
  }
  await selectTfBackend();
  const tf = await import('@tensorflow/tfjs');
  const log = pino({ level: 'silent' });
  server = await createServingServer({
    tf,
    store,
    registry: (model) => Promise.resolve(structuredClone(registries[model] as RegistryDescription)),
    log,
    guard: await guardFromConfig(
      { tokensFile: join(home, 'tokens.json'), rateLimit: { control: 0, predict: 0 } },
      log,
    ),
    deployments: cases.map((c) => ({ model: c.model })),
    bodyLimit: 1024 * 1024,
    predictionLog: { dir: join(home, 'prediction-log') },
    pollMs: 0,
    processMetrics: false,
  });
  url = await server.listen('127.0.0.1', 0);
}, 600_000);

afterAll(async () => {
  await server?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

/** The rows both ways: batch predictions from the DuckDB transform, and the source columns as JSON. */
async function batchAndRequests(model: string) {
  const { ref, transform, path } = trained.get(model)!;
  const inputs = transform.inputs ?? [];
  return withDuckDB(async (db) => {
    const reader = /\.csv$/.test(path) ? 'read_csv' : /\.json$/.test(path) ? 'read_json' : 'read_parquet';
    await db.run(
      `CREATE TABLE parity AS SELECT * FROM ${reader}(${sqlString(path)}) WHERE ${labelSql(transform.label)} IS NOT NULL LIMIT ${ROWS}`,
    );
    const matrix = await loadMatrix(db, transform, 'parity');
    const json = (c: { name: string; type: string }) =>
      /^(DATE|TIMESTAMP)/.test(c.type)
        ? `CAST(${sqlIdent(c.name)} AS VARCHAR)`
        : /INT/.test(c.type)
          ? `CAST(${sqlIdent(c.name)} AS DOUBLE)`
          : sqlIdent(c.name);
    const raw = await db.runAndReadAll(
      `SELECT ${inputs.map((c) => `${json(c)} AS ${sqlIdent(c.name)}`).join(', ')} FROM parity`,
    );
    // Loaded as the evaluate step loads a model (activities/evaluate/evaluate-core.ts).
    const store = createArtifactStore(home);
    const tf = await import('@tensorflow/tfjs');
    const scoring = await loadScoringModel(store, ref, async (manifest) => {
      const network = await loadNetwork(tf, store, manifest);
      const width = manifest.metadata.inputs.length;
      return {
        predict: (x, n) => predictBatched(tf, network, x, n, width),
        dispose: () => network.dispose(),
      };
    });
    const batch = scoring.predict(matrix.x, matrix.rows);
    const units = batch.length / matrix.rows;
    const expected: Prediction[] = Array.from({ length: matrix.rows }, (_, i) =>
      units === 1 ? (batch[i] as number) : Array.from(batch.subarray(i * units, (i + 1) * units)),
    );
    return { expected, rows: raw.getRowObjectsJS(), transform };
  });
}

type Answer =
  { label: string; probabilities: Record<string, number> } | { value: number; unit: string | null };

async function predict(
  model: string,
  instances: unknown[],
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/v1/models/${model}:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('batch evaluation and HTTP serving score the same rows identically', () => {
  it.each(cases.map((c) => c.model))(
    '%s: identical predictions from the source columns',
    async (model) => {
      const { expected, rows, transform } = await batchAndRequests(model);
      expect(rows).toHaveLength(ROWS);
      const answers: Answer[] = [];
      for (let i = 0; i < rows.length; i += 50) {
        const { status, body } = await predict(model, rows.slice(i, i + 50));
        expect(status, JSON.stringify(body)).toBe(200);
        expect(body['version']).toBe(1);
        answers.push(...(body['predictions'] as Answer[]));
      }
      const online = answers.map((a): Prediction => {
        if ('value' in a) return a.value;
        const classes = transform.label.task === 'binary' ? ['0', '1'] : transform.label.classes;
        const p = classes.map((c) => a.probabilities[c] as number);
        return transform.label.task === 'binary' ? (p[1] as number) : p;
      });
      expect(online).toEqual(expected);
      if (transform.label.task === 'regression') expect(answers[0]).toMatchObject({ unit: 'mpg' });
      else
        expect(Object.keys((answers[0] as { probabilities: object }).probabilities)).toEqual(
          transform.label.task === 'binary' ? ['0', '1'] : transform.label.classes,
        );
    },
    120_000,
  );

  it('computes temp_range itself: a request sending it is refused, one missing temp_min names the column and the feature', async () => {
    const row = { date: '2012-01-03', precipitation: 0, temp_max: 10.6, temp_min: 2.8, wind: 2.3 };
    const ok = await predict('weather', [row]);
    expect(ok.status).toBe(200);
    const sent = await predict('weather', [{ ...row, temp_range: -50 }]);
    expect(sent.status).toBe(400);
    expect(JSON.stringify(sent.body)).toMatch(
      /instances\[0\] sends \\"temp_range\\", which the model computes itself as temp_max - temp_min from temp_max, temp_min/,
    );
    const { temp_min: _, ...missing } = row;
    const refused = await predict('weather', [missing]);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toMatch(
      /instances\[0\] is missing column \\"temp_min\\", which feature \\"temp_range\\" \(temp_max - temp_min\) needs/,
    );
    const info = (await (await fetch(`${url}/v1/models/weather`)).json()) as { request: unknown };
    expect(info.request).toMatchObject({
      columns: [
        { name: 'temp_max', type: 'DOUBLE' },
        { name: 'temp_min', type: 'DOUBLE' },
        { name: 'precipitation', type: 'DOUBLE' },
        { name: 'wind', type: 'DOUBLE' },
        { name: 'date', type: 'DATE' },
      ],
    });
  });
});
