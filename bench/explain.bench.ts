import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { selectTfBackend } from '../activities/tf-backend.js';
import { trainOnDataset } from '../activities/train/train-core.js';
import { createArtifactStore } from '../lib/artifacts/index.js';
import { sqlString, withDuckDB } from '../lib/duckdb.js';
import { sha256File } from '../lib/hash.js';
import { loadExplainer } from '../lib/model/explain.js';
import { modelBody, readModelManifest, saveModel } from '../lib/model/model-artifact.js';
import { transformRowInto } from '../lib/model/transform-online.js';
import type { ModelVersion, RegistryDescription } from '../pipelines/registry.js';
import { featuresSchema, labelSchema, splitSchema, trainerSchema } from '../pipelines/train-spec.js';
import { guardFromConfig } from '../serving/guard.js';
import { createServingServer } from '../serving/server.js';
import type { BenchResult } from './harness.js';
import { load } from './serving.bench.js';

const flights = fileURLToPath(
  new URL('../node_modules/vega-datasets/data/flights-3m.parquet', import.meta.url),
);
const seconds = 4;

/** The demo's features and trees (pipelines/flight-delay.pipeline.ts), and its logistic baseline. */
const models = {
  'gbdt 100×31': { model: 'gbdt', rounds: 100, numLeaves: 31, seed: 42 },
  logistic: { model: 'logistic', epochs: 3, seed: 1 },
} as const;

/**
 * `explain`: what `?explain=true` costs on top of predict. For the flight-delay demo's model (GBDT, 100
 * trees of up to 31 leaves) and a logistic one, each served by `createServingServer` as `sluice serve`
 * does: single-row and 100-row predict requests with and without explanations (autocannon, one
 * connection), and the in-process time to explain 1,000 rows, which is what the evaluation's
 * importance for the model card spends.
 */
export async function run(): Promise<BenchResult> {
  const home = await mkdtemp(join(tmpdir(), 'sluice-bench-explain-'));
  try {
    await selectTfBackend();
    const tf = await import('@tensorflow/tfjs');
    const store = createArtifactStore(home);
    const sample = join(home, 'flights-30k.parquet');
    const instances = await withDuckDB(async (db) => {
      await db.run(
        `COPY (SELECT date, delay, distance, origin, destination FROM read_parquet(${sqlString(flights)}) WHERE hash(date, origin, destination) % 100 = 0) TO ${sqlString(sample)} (FORMAT parquet)`,
      );
      const reader = await db.runAndReadAll(
        `SELECT hour(date)::DOUBLE AS hour, dayofweek(date)::DOUBLE AS weekday, distance::DOUBLE AS distance, origin, destination FROM read_parquet(${sqlString(flights)}) WHERE hash(date, origin, destination) % 100 = 1 LIMIT 1000`,
      );
      return reader.getRowObjectsJS();
    });
    const { sha256, bytes } = await sha256File(sample);
    const entries: Record<string, RegistryDescription> = {};
    const inProcess: Record<string, number> = {};
    const kept: string[] = [];
    for (const [name, trainer] of Object.entries(models)) {
      const outcome = await trainOnDataset({
        dataset: { path: sample, uri: sample, sha256, bytes },
        features: featuresSchema.parse({
          numeric: [
            { name: 'hour', sql: 'hour(date)' },
            { name: 'weekday', sql: 'dayofweek(date)' },
            'distance',
          ],
          categorical: [
            { name: 'origin', topK: 30 },
            { name: 'destination', topK: 30 },
          ],
        }),
        label: labelSchema.parse({ sql: 'delay > 15', task: 'binary' }),
        split: splitSchema.parse({ kind: 'hash', key: 'concat(date, origin, destination)', seed: 7 }),
        trainer: trainerSchema.parse(trainer),
      });
      const ref = await saveModel(store, modelBody(outcome), outcome.transform, outcome.metadata);
      if (outcome.metadata.trees) {
        const { trees, leaves } = outcome.metadata.trees;
        kept.push(`${name}: early stopping kept ${trees} trees, ${leaves} leaves in all`);
      }
      const version: ModelVersion = {
        version: 1,
        registeredAt: new Date().toISOString(),
        requestId: `bench-${name}`,
        runId: 'bench',
        workflowId: 'bench',
        pipeline: 'bench',
        dataSha256s: [sha256],
        model: ref,
        metrics: {},
        approvals: [],
        registeredBy: 'bench',
      };
      const key = name.replace(/\W+/g, '-');
      entries[key] = {
        model: key,
        versions: [version],
        aliases: { production: 1, candidate: null, previous: null },
        eventCount: 0,
      };
      // In process: explain 1,000 transform rows, as the evaluation does for the card.
      const manifest = await readModelManifest(store, ref);
      const explainer = await loadExplainer(store, manifest);
      const width = manifest.metadata.inputs.length;
      const x = new Float32Array(instances.length * width);
      instances.forEach((row, i) => transformRowInto(manifest.transform, row, x, i * width));
      explainer.explain(x, 50); // warm up
      const started = performance.now();
      explainer.explain(x, instances.length);
      inProcess[name] = performance.now() - started;
    }
    const log = pino({ level: 'warn' }, pino.destination({ dest: join(home, 'serve.log'), sync: false }));
    const server = await createServingServer({
      tf,
      store,
      registry: (model) => Promise.resolve(structuredClone(entries[model]!)),
      log,
      guard: await guardFromConfig(
        { tokensFile: join(home, 'tokens.json'), rateLimit: { control: 0, predict: 0 } },
        log,
      ),
      deployments: Object.keys(entries).map((model) => ({ model })),
      bodyLimit: 4 * 1024 * 1024,
      predictionLog: { dir: join(home, 'prediction-log') },
      pollMs: 0,
      processMetrics: false,
    });
    try {
      const url = await server.listen('127.0.0.1', 0);
      const rows: Record<string, string | number>[] = [];
      const ratios: Record<string, number> = {};
      for (const name of Object.keys(models)) {
        const key = name.replace(/\W+/g, '-');
        for (const batch of [1, 100]) {
          const body = JSON.stringify({ instances: instances.slice(0, batch) });
          const plain = `${url}/v1/models/${key}:predict`;
          await load(plain, body, 1, 1); // warm up (and build the explainer once)
          await load(`${plain}?explain=true`, body, 1, 1);
          const a = await load(plain, body, 1, seconds);
          const b = await load(`${plain}?explain=true`, body, 1, seconds);
          for (const [handler, r] of [
            ['predict', a],
            ['predict?explain=true', b],
          ] as const) {
            rows.push({
              model: name,
              'rows/request': batch,
              handler,
              // One connection, closed loop: the mean latency is 1 / throughput.
              'mean ms': Math.round((1000 / r.rps) * 100) / 100,
              'p99 ms': r.p99,
              'req/s': Math.round(r.rps),
              'non-2xx': r.non2xx,
            });
          }
          ratios[`${key} ${batch}-row explain/predict mean latency`] =
            Math.round((a.rps / b.rps) * 100) / 100;
        }
        rows.push({
          model: name,
          'rows/request': 1000,
          handler: 'in process: explain 1,000 rows',
          'mean ms': Math.round(inProcess[name]! * 10) / 10,
        });
      }
      return {
        name: 'explain',
        description: `?explain=true vs plain predict (autocannon, 1 connection, ${seconds}s per row), flight-delay features, models trained on a 1-in-100 sample`,
        rows,
        ratios,
        notes: [
          ...kept,
          'mean ms is 1000 / req/s (one connection, so one request at a time); autocannon rounds p99 to whole milliseconds',
          'the in-process row is explain() alone on 1,000 transform rows (what the evaluation spends on the card’s importance)',
        ],
      };
    } finally {
      await server.close();
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
