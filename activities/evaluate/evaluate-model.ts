import type { ArtifactLocation } from '../../lib/artifacts/location.js';
import { extname } from 'node:path';
import type { ArtifactProducer, ArtifactRef } from '../../pipelines/artifact.js';
import { DataValidationError, InvalidInputError } from '../../pipelines/errors.js';
import { artifactRefSchema as refSchema, evaluateStepSchema } from '../../pipelines/evaluate-params.js';
import type { EvaluationSummary } from '../../pipelines/evaluation.js';
import type { JsonValue } from '../../pipelines/json.js';
import type { ModelManifest, ModelRef } from '../../pipelines/model.js';
import type { StepInput } from '../../pipelines/step.js';
import { parseOrThrow } from '../../pipelines/train-spec.js';
import { createArtifactStore, type ArtifactStorage } from '../../lib/artifacts/index.js';
import { sha256File } from '../../lib/hash.js';
import { resolveSource } from '../../lib/paths.js';
import { refuseDeepJson } from '../ingest/json-depth.js';
import { readModelManifest } from '../../lib/model/model-artifact.js';
import { stepWhere } from '../train/train-model.js';
import { evaluateOnDataset, type EvaluateRequest } from './evaluate-core.js';

export { evaluateStepSchema } from '../../pipelines/evaluate-params.js';

export interface EvaluateModelDeps {
  home: string;
  /** `SLUICE_ARTIFACTS`: where the artifact store is; absent: `<home>/artifacts`. */
  artifacts?: ArtifactLocation | undefined;
  dataRoots: readonly string[];
}

/**
 * The `evaluateModel` step: evaluate a model on its held-out split (or a given file), compare it with
 * the production model on the same rows and measure fairness: measurements only, every metric with its
 * interval. Stores the full evaluation (with the `bless` thresholds it was asked about) as an artifact
 * and returns the small {@link EvaluationSummary}. Whether the model is blessed is not decided here: the
 * workflow derives it from this result and the spec (`deriveBlessing`, docs/architecture.md decision 4), so a
 * replay re-derives it.
 */
export async function evaluateModelStep(
  deps: EvaluateModelDeps,
  input: StepInput,
): Promise<EvaluationSummary> {
  const params = parseOrThrow(evaluateStepSchema, input.params, `step "${input.step}" params`);
  const store = createArtifactStore(deps.home, deps.artifacts);
  const model = (params.model ?? fromInputs(input, 'model')) as ModelRef | undefined;
  if (!model) {
    throw new InvalidInputError(
      `step "${input.step}" needs a model: give params.model or depend on a trainModel step`,
    );
  }
  const production = (
    params.production === undefined ? fromInputs(input, 'production') : params.production
  ) as ModelRef | null | undefined;
  const manifest = await readModelManifest(store, model);
  const dataset =
    params.source !== undefined
      ? await fromSource(params.source, deps.dataRoots)
      : await trainingDataset(store, deps.dataRoots, manifest);
  const request: EvaluateRequest = {
    model,
    production: production ?? null,
    dataset,
    split: params.source !== undefined ? null : { spec: manifest.metadata.data.split, use: params.split },
    threshold: params.threshold,
    slices: params.slices,
    fairness: params.fairness,
    maxGroups: params.maxGroups,
    bootstrap: params.bootstrap,
    where: stepWhere(input),
    origin: params.source ?? trainedOn(input),
  };
  const report = await evaluateOnDataset(store, request);
  const producer: ArtifactProducer = {
    workflowId: input.run.workflowId,
    runId: input.run.runId,
    step: input.step,
  };
  const evaluation = await store.putJson({ ...report, bless: params.bless } as unknown as JsonValue, {
    kind: 'evaluation',
    producer,
  });
  return {
    model,
    task: report.task,
    rows: report.rows,
    threshold: report.threshold,
    metrics: report.metrics,
    production: report.production && {
      model: report.production.model,
      metrics: report.production.metrics,
      delta: report.production.delta,
    },
    fairness: report.fairness,
    slices: report.slices,
    evaluation,
  };
}

/** The file the model's training data came from, as the step that trained it reported it. */
function trainedOn(input: StepInput): string | undefined {
  for (const value of Object.values(input.inputs)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !('model' in value)) continue;
    if (typeof value['source'] === 'string') return value['source'];
  }
  return undefined;
}

/** The first needed step's output field `key` that looks like an artifact ref (or null). */
function fromInputs(input: StepInput, key: string): ArtifactRef | null | undefined {
  for (const value of Object.values(input.inputs)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !(key in value)) continue;
    const candidate = value[key];
    if (candidate === null) return null;
    const parsed = refSchema.safeParse(candidate);
    if (parsed.success) return parsed.data as ArtifactRef;
  }
  return undefined;
}

async function fromSource(source: string, roots: readonly string[]): Promise<EvaluateRequest['dataset']> {
  const path = await resolveSource(source, roots);
  await refuseDeepJson(source, path);
  const { sha256 } = await sha256File(path);
  return { path, uri: source, sha256 };
}

/**
 * The data the model was trained on, found by its sha256: in the artifact store when it came from
 * ingest, else at its source path — refused if those bytes changed since training, because the held-out
 * split would no longer be the one the model never saw. Exported for the deploy step's infra validation,
 * which scores the same held-out rows.
 */
export async function trainingDataset(
  store: ArtifactStorage,
  roots: readonly string[],
  manifest: ModelManifest,
): Promise<EvaluateRequest['dataset']> {
  const { uri, sha256, bytes } = manifest.metadata.data.dataset;
  if (await store.has(sha256)) {
    const sidecar = await store.describe(sha256);
    const path = await store.open({ uri, sha256, bytes, kind: sidecar.kind, format: sidecar.format });
    return { path, uri, sha256 };
  }
  const found = await fromSource(uri, roots);
  if (found.sha256 !== sha256) {
    throw new DataValidationError(
      `the model was trained on ${uri} with sha256 ${sha256.slice(0, 12)}…, but that file now hashes to ${found.sha256.slice(0, 12)}…: ` +
        `its held-out split is gone; evaluate on a given file with params.source or retrain`,
      { details: { uri, expected: sha256, actual: found.sha256, extension: extname(uri) } },
    );
  }
  return found;
}
