import type { ArtifactLocation } from '../../lib/artifacts/location.js';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { describeModel } from '../../client/registry.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { InfraReport } from '../../pipelines/deploy-rules.js';
import { loadModelVersion, type LoadedModel } from '../../lib/model/loaded-model.js';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { ArtifactIntegrityError } from '../../lib/artifacts/integrity-error.js';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import { trainingDataset } from '../evaluate/evaluate-model.js';
import { selectTfBackend } from '../tf-backend.js';
import { sourceRelation } from '../train/source.js';
import { splitSql } from '../train/split.js';
import { featureInputsSql } from '../train/transform-sql.js';

/** What infra validation needs from the composition root. */
export interface InfraValidationDeps {
  home: string;
  /** `SLUICE_ARTIFACTS`: where the artifact store is; absent: `<home>/artifacts`. */
  artifacts?: ArtifactLocation | undefined;
  dataRoots: readonly string[];
  client: Client;
}

/** Which version to validate, and how many test rows to score. */
export interface InfraValidationRequest {
  model: string;
  version: number;
  sampleRows: number;
}

/**
 * Infra validation (TFX InfraValidator's job): load the candidate exactly as serving will — from the
 * registry entry, hash-verified, with its saved transform — and score a sample of its own test split
 * one row per call, timing each. A model that will not load (its bytes no longer match the registry)
 * is reported as a `failure`, not thrown: the workflow refuses the deploy with the reason.
 *
 * @throws InvalidInputError when the registry has no such version (a mistake in the run, not a result).
 */
export async function validateModelInfra(
  deps: InfraValidationDeps,
  request: InfraValidationRequest,
): Promise<InfraReport> {
  const { model, version } = request;
  const entry = (await describeModel(deps.client, model)).versions.find((v) => v.version === version);
  if (!entry) {
    throw new InvalidInputError(
      `model "${model}" has no version ${version} in the registry: deploy a version the register step created`,
    );
  }
  const empty = { model, version, rows: 0, errors: 0, p50Ms: 0, p95Ms: 0 };
  const store = createArtifactStore(deps.home, deps.artifacts);
  await selectTfBackend();
  const tf = await import('@tensorflow/tfjs');
  let loaded: LoadedModel;
  try {
    loaded = await loadModelVersion(tf, store, model, entry);
  } catch (error) {
    if (error instanceof ArtifactIntegrityError) return { ...empty, failure: error.message };
    throw error;
  }
  try {
    const dataset = await trainingDataset(store, deps.dataRoots, loaded.manifest);
    const split = splitSql(loaded.manifest.metadata.data.split);
    const rows = await withDuckDB(async (db) => {
      const reader = await db.runAndReadAll(
        `SELECT ${featureInputsSql(loaded.manifest.transform).join(', ')} FROM ${sourceRelation(dataset.path)} WHERE ${split} = ${sqlString('test')} LIMIT ${request.sampleRows}`,
      );
      return reader.getRowObjectsJS();
    });
    const times: number[] = [];
    let errors = 0;
    for (const row of rows) {
      const started = performance.now();
      const [prediction] = loaded.predict([row]);
      times.push(performance.now() - started);
      const values = Array.isArray(prediction) ? prediction : [prediction];
      if (values.length === 0 || values.some((v) => v === undefined || !Number.isFinite(v))) errors++;
    }
    times.sort((a, b) => a - b);
    const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
    return { ...empty, rows: rows.length, errors, p50Ms: at(0.5), p95Ms: at(0.95), failure: null };
  } finally {
    loaded.retire();
  }
}
