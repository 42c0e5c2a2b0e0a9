import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfType from '@tensorflow/tfjs';
import { createArtifactStore, type ArtifactStorage } from '../lib/artifacts/index.js';
import { sqlString, withDuckDB } from '../lib/duckdb.js';
import { sha256File } from '../lib/hash.js';
import { selectTfBackend, type TfBackend } from '../activities/tf-backend.js';
import { modelBody, saveModel } from '../lib/model/model-artifact.js';
import { trainOnDataset } from '../activities/train/train-core.js';
import type { ModelVersion, RegistryDescription } from '../pipelines/registry.js';
import { featuresSchema, labelSchema, splitSchema, trainerSchema } from '../pipelines/train-spec.js';
import type { FittedTransform } from '../pipelines/transform.js';

const flights = fileURLToPath(
  new URL('../node_modules/vega-datasets/data/flights-3m.parquet', import.meta.url),
);

/** The served model's name in the serving bench and its profile. */
export const benchModel = 'flight-delay';

/** Two trained flights MLP versions in an artifact store, and one request row of source columns. */
export interface ServingFixture {
  tf: typeof tfType;
  backend: TfBackend;
  store: ArtifactStorage;
  /** The registry entry the server reads: production v1, candidate v2. */
  registry: RegistryDescription;
  /** One instance as a request sends it (`date`, `distance`, `origin`). */
  row: Record<string, unknown>;
  transform: FittedTransform;
}

/**
 * Train two MLP 32-16 versions (seeds 1 and 2) on a 1 % sample of flights-3m (features `hour(date)`,
 * `distance`, `origin`) into an artifact store under `home`, as the serving bench serves them.
 */
export async function prepareServingFixture(home: string): Promise<ServingFixture> {
  const backend = await selectTfBackend();
  const tf = await import('@tensorflow/tfjs');
  const store = createArtifactStore(home);
  const sample = join(home, 'flights-30k.parquet');
  const row = await withDuckDB(async (db) => {
    await db.run(
      `COPY (SELECT date, delay, distance, origin FROM read_parquet(${sqlString(flights)}) WHERE hash(date, origin, destination) % 100 = 0) TO ${sqlString(sample)} (FORMAT parquet)`,
    );
    const reader = await db.runAndReadAll(
      `SELECT strftime(date, '%Y-%m-%d %H:%M:%S') AS date, distance::DOUBLE AS distance, origin FROM ${sqlString(sample)} LIMIT 1`,
    );
    return reader.getRowObjectsJS()[0] as Record<string, unknown>;
  });
  const { sha256, bytes } = await sha256File(sample);
  const versions: ModelVersion[] = [];
  let transform: FittedTransform | undefined;
  for (const seed of [1, 2]) {
    const outcome = await trainOnDataset({
      dataset: { path: sample, uri: sample, sha256, bytes },
      features: featuresSchema.parse({
        numeric: [{ name: 'hour', sql: 'hour(date)' }, 'distance'],
        categorical: [{ name: 'origin', topK: 20 }],
      }),
      label: labelSchema.parse({ sql: 'delay > 15', task: 'binary' }),
      split: splitSchema.parse({ kind: 'hash', key: 'concat(date, origin)', seed: 1 }),
      trainer: trainerSchema.parse({ model: 'mlp', layers: [32, 16], epochs: 2, seed }),
    });
    const ref = await saveModel(store, modelBody(outcome), outcome.transform, outcome.metadata);
    transform ??= outcome.transform;
    versions.push({
      version: seed,
      registeredAt: new Date().toISOString(),
      requestId: `bench-${seed}`,
      runId: 'bench',
      workflowId: 'bench',
      pipeline: 'bench',
      dataSha256s: [sha256],
      model: ref,
      metrics: {},
      approvals: [],
      registeredBy: 'bench',
    });
  }
  if (!transform) throw new Error('no model trained');
  const registry: RegistryDescription = {
    model: benchModel,
    versions,
    aliases: { production: 1, candidate: 2, previous: null },
    eventCount: 0,
  };
  return { tf, backend, store, registry, row, transform };
}
