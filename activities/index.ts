import type { ArtifactLocation } from '../lib/artifacts/location.js';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { Client } from '@temporalio/client';
import { InvalidInputError } from '../pipelines/errors.js';
import type { JsonValue } from '../pipelines/json.js';
import type { StepActivity } from '../pipelines/step.js';
import { createArtifactStore } from '../lib/artifacts/index.js';
import { stepActivity } from './boundary.js';
import { createDataActivities } from './data-steps.js';
import { writeFileAtomic } from '../lib/fs-atomic.js';
import { sha256Text } from '../lib/hash.js';
import { ingestDataset } from './ingest/index.js';
import { productionModelStep } from './production-model.js';
import { profileDataset } from './profile-dataset.js';
import { registerModelStep } from './registry.js';
import { evaluateModelStep } from './evaluate/evaluate-model.js';
import { renderModelCardStep } from './model-card/render-model-card.js';
import { trainModelStep } from './train/train-model.js';

/** What activities need from the composition root; injected so tests can point them anywhere. */
export interface ActivityDeps {
  /** Absolute `SLUICE_HOME`. */
  home: string;
  /** `SLUICE_ARTIFACTS`: where the artifact store is; absent: `<home>/artifacts`. */
  artifacts?: ArtifactLocation | undefined;
  /** Directories data sources must resolve inside. */
  dataRoots: readonly string[];
  /** `SLUICE_PII_KEY`, for columns marked `pii: 'hash'`; ingest refuses such columns without it. */
  piiKey?: string | undefined;
  /** A Temporal client for steps that talk to other workflows (`registerModel`); absent in unit tests. */
  client?: Client | undefined;
  /** The orchestration task queue, where registry workflows run. */
  taskQueue?: string | undefined;
}

/**
 * The step activities a pipeline can name (docs/architecture.md decision 1: registered by name on the worker).
 * Each takes a {@link StepInput} and returns JSON through the activity boundary.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    /** Hash, count and describe a dataset with DuckDB. Params: `{ source }`. */
    profileDataset: stepActivity(async ({ params, step }) => {
      const source = params['source'];
      if (typeof source !== 'string') {
        throw new InvalidInputError(`step "${step}" needs params.source, the path of a dataset`);
      }
      return profileDataset(source, deps.dataRoots);
    }),

    /**
     * Ingest a dataset into the artifact store as one zstd Parquet snapshot. Params:
     * `{ source, format?, csv?: { delimiter?, header?, quote? }, types?, sql?, pii? }`; output:
     * `{ dataset: ArtifactRef, source: { path, sha256, bytes, format }, warnings }`.
     */
    ingestDataset: stepActivity(async ({ params, run, step }) =>
      ingestDataset(params, {
        store: createArtifactStore(deps.home, deps.artifacts),
        dataRoots: deps.dataRoots,
        piiKey: deps.piiKey,
        producer: { workflowId: run.workflowId, runId: run.runId, step },
      }),
    ),

    /** Write the outputs of the steps it needs as one JSON summary under `runs/<workflowId>/`. */
    writeRunSummary: stepActivity(async ({ run, step, inputs, runParams }) => {
      const dir = join(deps.home, 'runs', run.workflowId);
      await mkdir(dir, { recursive: true });
      const path = join(dir, `${step}.json`);
      const text = `${JSON.stringify({ run, step, runParams, inputs }, null, 2)}\n`;
      await writeFileAtomic(path, text);
      return { path, sha256: sha256Text(text), bytes: Buffer.byteLength(text) };
    }),

    /**
     * Train one model and store it (run it on the `train` queue). Params: `{ source?, features, label,
     * split, trainer }`; output `{ model: ModelRef, metrics, … }`. Checkpoints every epoch and resumes a
     * retried attempt from the last one; also the trial activity of a hyperparameter search.
     */
    trainModel: stepActivity((input) => trainModelStep(deps, input)),

    /**
     * Evaluate a model on its held-out split: metrics with bootstrap intervals, slices, fairness, the
     * comparison with production — measurements only; the workflow derives the blessing from them.
     * Output: `EvaluationSummary`.
     */
    evaluateModel: stepActivity(
      async (input) => (await evaluateModelStep(deps, input)) as unknown as JsonValue,
    ),

    /**
     * Register the model a run produced in the model registry (`registry/<model>`) with its lineage.
     * Params: `{ model, modelFrom?, metricsFrom?, approvalsFrom?, by? }`; inputs: a `{ model }` ref
     * (trainModel / evaluateModel), optional `{ metrics, blessing }` and an approval step's
     * `{ decisions }`. Output: `{ model, version, created, modelRef, dataSha256s, approvals }`.
     */
    registerModel: stepActivity(async (input) => registerModelStep(deps, input)),

    /**
     * Render the model card (HTML for approvers, JSON for machines) from an evaluation: the verdict with
     * every reason, metrics with intervals, production comparison, fairness, slices, SVG charts.
     */
    renderModelCard: stepActivity((input) => renderModelCardStep(deps.home, input, deps.artifacts)),

    /** The registry's production model (`{ production: ModelRef | null }`), to evaluate a candidate against. */
    productionModel: stepActivity((input) => productionModelStep(deps, input)),

    /** Does nothing: for sketching a DAG and measuring orchestration overhead. */
    noop: stepActivity(() => Promise.resolve(null)),

    /** Statistics, contract validation and drift (`computeStatistics`, `validateDataset`, `detectDrift`). */
    ...createDataActivities(deps),
  } satisfies Record<string, StepActivity>;
}

export type SluiceActivities = ReturnType<typeof createActivities>;
export type StepActivityName = keyof SluiceActivities;
