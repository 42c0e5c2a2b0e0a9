import { z } from 'zod';
import { contractSchema } from './contract.js';
import { driftOptionsSchema } from './drift.js';
import { artifactRefSchema, evaluateStepSchema } from './evaluate-params.js';
import { ingestParamsSchema } from './ingest-params.js';
import { jsonValueSchema } from './json-schema.js';
import { modelNamePattern } from './registry.js';
import { featuresSchema, labelSchema, splitSchema, trainerSchema } from './train-spec.js';
import { calibrationIssue } from './calibration.js';

/**
 * The params schema of every built-in step, by activity name: the one place that says what a step
 * accepts. The activities parse their params with these, pipeline files are typed by them
 * ({@link BuiltinStepParams}), and `docs/pipelines.md` is generated from them. Pure and sandbox-safe.
 */

/** A dataset as a step may name it: an `ArtifactRef`, the sha256 of a stored artifact, or a path. */
const datasetSchema = z
  .union([z.string().min(1), artifactRefSchema])
  .describe('A dataset: a path inside the data roots, the sha256 of a stored artifact, or an ArtifactRef.');
const stepName = (what: string) => z.string().min(1).describe(what);

export const trainStepSchema = z
  .strictObject({
    source: z
      .string()
      .min(1)
      .optional()
      .describe("A dataset path (inside the data roots); otherwise a needed step's output `{ dataset }`."),
    input: stepName("Which needed step's `dataset` to train on when several provide one.").optional(),
    features: featuresSchema.describe(
      'The model inputs: numeric and categorical columns or SQL expressions.',
    ),
    label: labelSchema.describe('What the model predicts: a column or SQL, and the task.'),
    split: splitSchema.describe(
      'How rows are split into train, validation and test (stable on every rerun).',
    ),
    trainer: trainerSchema.describe('The model and its hyperparameters.'),
  })
  .superRefine((params, ctx) => {
    const issue = calibrationIssue(params.trainer, params.label.task);
    if (issue !== null) ctx.addIssue({ code: 'custom', path: ['trainer', 'calibration'], message: issue });
  });

export const productionModelParamsSchema = z.strictObject({
  model: z
    .string()
    .regex(modelNamePattern, 'a model name: letters, digits, . _ - (at most 100)')
    .describe('The registry (`registry/<model>`) whose production version to compare with.'),
});

export const registerModelParamsSchema = z.strictObject({
  model: z
    .string()
    .regex(modelNamePattern, 'a model name: letters, digits, . _ - (at most 100)')
    .describe('The registry to register into (its workflow id is `registry/<model>`).'),
  modelFrom: stepName(
    "Which needed step's `{ model }` to register, when several carry different models.",
  ).optional(),
  metricsFrom: stepName(
    "Which needed step's `{ metrics }` to keep. Default: the evaluation, else the model's step.",
  ).optional(),
  approvalsFrom: stepName(
    'Which needed step holds the approval decisions. Default: every one that has `decisions`.',
  ).optional(),
  by: z.string().min(1).optional().describe('Who registers, as recorded. Default: `run:<workflow id>`.'),
});

export const cardStepSchema = z.strictObject({
  title: z.string().min(1).optional().describe('The card title. Default: the model name and version.'),
  purpose: z
    .string()
    .default('The pipeline does not state what this model is for.')
    .describe("What the model is for, in the owner's words."),
  intendedUse: z.string().default('Not stated.').describe('Who may use it, and how.'),
  limitations: z.array(z.string()).default([]).describe('What it must not be used for; known weaknesses.'),
  owner: z.string().default('Not stated.').describe('Who answers for the model.'),
  evaluation: z
    .object({
      uri: z.string(),
      sha256: z.string(),
      kind: z.literal('evaluation'),
      format: z.string(),
      bytes: z.number(),
    })
    .meta({ title: 'ArtifactRef' })
    .optional()
    .describe('The evaluation artifact. Default: the `evaluation` output of a step this one needs.'),
});

export const profileDatasetParamsSchema = z.strictObject({
  source: z
    .string()
    .min(1)
    .describe('The dataset to profile (CSV, TSV, Parquet, JSON or NDJSON) inside the data roots.'),
});

const datasetParams = {
  dataset: datasetSchema.optional(),
  datasetFrom: stepName("Which needed step's `dataset` to use. Default: the first that has one.").optional(),
};

export const computeStatisticsParamsSchema = z.strictObject(datasetParams);

export const validateDatasetParamsSchema = z.strictObject({
  contract: contractSchema.describe('The data contract to check (see docs/data-contracts.md).'),
  ...datasetParams,
  statistics: artifactRefSchema
    .optional()
    .describe("Statistics to check against. Default: a needed step's `statistics`, else computed here."),
  statisticsFrom: stepName("Which needed step's `statistics` to use.").optional(),
  referenceTime: z
    .string()
    .min(1)
    .optional()
    .describe('ISO-8601 time that freshness is measured from. Default: now.'),
});

export const detectDriftParamsSchema = driftOptionsSchema.extend({
  reference: datasetSchema.optional().describe('The dataset to compare against (e.g. the training data).'),
  current: datasetSchema.optional().describe('The dataset that may have drifted.'),
  referenceFrom: stepName("Which needed step's `dataset` is the reference.").optional(),
  currentFrom: stepName("Which needed step's `dataset` is the current data.").optional(),
});

/** `noop` ignores its params: any JSON, so a sketch can carry notes. */
export const noopParamsSchema = z.record(z.string(), jsonValueSchema.describe('Anything: ignored.'));

/** Built-in step activities and the schema of their params. */
export const builtinStepParams = {
  profileDataset: profileDatasetParamsSchema.describe('Hash, count and describe a dataset with DuckDB.'),
  ingestDataset: ingestParamsSchema.describe(
    'Snapshot a CSV/TSV, Parquet, Arrow, JSON or NDJSON file as one zstd Parquet artifact, with declared types, the privacy policy and an optional SQL transform. Output: `{ dataset, source, warnings }`.',
  ),
  writeRunSummary: z
    .strictObject({})
    .describe('Write the outputs of the steps it needs as one JSON file under `runs/<workflow id>/`.'),
  trainModel: trainStepSchema.describe(
    'Fit the feature transform and one model on the training split (run it on the `train` queue); checkpoints every epoch. Output: `{ model, metrics, … }`.',
  ),
  evaluateModel: evaluateStepSchema.describe(
    'Metrics with bootstrap intervals, slices, fairness and the comparison with production, and `blessing` with every reason. Output: the evaluation summary.',
  ),
  registerModel: registerModelParamsSchema.describe(
    'Register the model a run produced in the registry (`registry/<model>`) as the candidate, with its lineage.',
  ),
  renderModelCard: cardStepSchema.describe(
    'Render the model card (HTML for approvers, JSON for machines) from an evaluation.',
  ),
  productionModel: productionModelParamsSchema.describe(
    "The registry's production model (`{ production }`, or null), to evaluate a candidate against.",
  ),
  noop: noopParamsSchema.describe('Does nothing: for sketching a DAG and measuring orchestration overhead.'),
  computeStatistics: computeStatisticsParamsSchema.describe(
    'Statistics of a dataset (per column), stored as JSON with Markdown and HTML reports.',
  ),
  validateDataset: validateDatasetParamsSchema.describe(
    'Check a dataset against a data contract; with `gate: "validation"`, error anomalies stop the run.',
  ),
  detectDrift: detectDriftParamsSchema.describe(
    'Drift of `current` against `reference` per feature (PSI, Jensen–Shannon, KS), stored as JSON and Markdown.',
  ),
} as const;

/** The name of a step activity Sluice registers. */
export type BuiltinActivity = keyof typeof builtinStepParams;

/** What a pipeline file writes as the params of built-in activity `A` (before `$param` references). */
export type BuiltinStepParams<A extends BuiltinActivity> = z.input<(typeof builtinStepParams)[A]>;

/** Whether `name` is a built-in step activity (a user's step must not take one of these names). */
export function isBuiltinActivity(name: string): name is BuiltinActivity {
  return Object.hasOwn(builtinStepParams, name);
}
