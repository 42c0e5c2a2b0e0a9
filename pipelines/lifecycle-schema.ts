import { z } from 'zod';
import { approvalPolicySchema } from './approval.js';
import { contractSchema } from './contract.js';
import { deploySchema } from './deploy.js';
import { evaluateStepSchema } from './evaluate-params.js';
import { sourceFormatSchema } from './ingest-params.js';
import type { TrainerUse } from './define-trainer.js';
import type { WithParamRefs } from './refs.js';
import { modelNamePattern } from './registry.js';
import { searchSchema } from './search.js';
import { pipelineSchema, stepSchema } from './spec.js';
import { cardStepSchema } from './step-params.js';
import { featuresSchema, labelSchema, splitSchema, trainerSchema } from './train-spec.js';

const step = stepSchema.shape;

/** A user's step (`defineStep`, docs/steps.md) at one of the lifecycle's seams. */
export const lifecycleStepSchema = z.strictObject({
  id: step.id,
  activity: step.activity.unwrap().describe('The step to run: its `defineStep` name (or a built-in step).'),
  params: step.params,
  queue: step.queue,
  timeout: step.timeout,
  heartbeat: step.heartbeat,
  retry: step.retry.optional().describe('How a failed attempt is retried. Default: 3 attempts.'),
  cache: step.cache,
  description: step.description,
});

/**
 * What `mlLifecycle` takes, as one zod schema built from the schemas of the steps each field feeds, so
 * the config type, the editor's completions and `docs/pipelines.md` all come from the same place as
 * the run-time checks. Adding a trainer or a parameter to a step's schema changes all three at once.
 */
export const lifecycleSchema = z.strictObject({
  id: pipelineSchema.shape.id.describe(
    'Stable pipeline id: it lives in workflow ids, search attributes and histories.',
  ),
  description: z.string().optional().describe('One line on what the pipeline predicts.'),
  owner: z.string().optional().describe('Who answers for the model; may never approve it.'),
  model: z
    .string()
    .regex(modelNamePattern, 'a model name: letters, digits, . _ - (at most 100)')
    .optional()
    .describe('Registry name of the model (`registry/<model>`). Default: the pipeline id.'),
  card: cardStepSchema
    .pick({ title: true, purpose: true, intendedUse: true, limitations: true })
    .optional()
    .describe('What the model is for and what it must not be used for: read by approvers on the model card.'),
  source: z
    .strictObject({
      uri: z
        .string()
        .min(1)
        .describe('The dataset (a path inside the data roots); the default of the run parameter `source`.'),
      format: sourceFormatSchema.optional().describe('The file format. Default: from the file extension.'),
      sql: z
        .string()
        .min(1)
        .optional()
        .describe('Feature engineering at ingest: one `SELECT … FROM source`. Default: every column.'),
    })
    .describe('The data, and an optional SQL transform over it (a view named `source`).'),
  contract: contractSchema
    .optional()
    .describe('Data contract (docs/data-contracts.md); a broken one stops the run at the validation gate.'),
  features: featuresSchema.describe('The model inputs: numeric and categorical columns or SQL expressions.'),
  label: labelSchema.describe('What the model predicts: a column or SQL, and the task.'),
  split: splitSchema.describe('How rows are split into train, validation and test (stable on every rerun).'),
  prepare: z
    .array(lifecycleStepSchema)
    .max(20)
    .optional()
    .describe(
      'Your own feature steps, run in order after validation and before training; each gets the previous dataset and returns `{ dataset: ArtifactRef }`, and training reads the last one (docs/steps.md).',
    ),
  train: trainerSchema.describe(
    'The model and its hyperparameters; or a trainer of your own, `myTrainer.use({ …params })` (docs/steps.md).',
  ),
  search: searchSchema
    .optional()
    .describe('Hyperparameter search over `train`: trials fan out as a child workflow; the best is kept.'),
  evaluate: evaluateStepSchema
    .omit({ model: true, production: true })
    .optional()
    .describe('Evaluation on the held-out split: slices, fairness and the bar the model must meet.'),
  checks: z
    .array(lifecycleStepSchema)
    .max(20)
    .optional()
    .describe(
      'Your own checks after evaluation and before the approval gate (they get the `train` and `evaluate` outputs); a check that throws stops the run before anyone is asked to approve.',
    ),
  approval: approvalPolicySchema
    .omit({ subject: true })
    .describe('Who signs off before the model is registered (a durable gate).'),
  deploy: deploySchema
    .optional()
    .describe(
      'Deploy the registered version after sign-off: infra validation, then direct, canary or shadow.',
    ),
  params: pipelineSchema.shape.params.describe(
    'More run parameters (`--param k=v`), referenced in step fields as `{ $param: "name" }`. `source` is declared already.',
  ),
});

type LifecycleInput = z.input<typeof lifecycleSchema>;

/** The fields whose values become step params, where `{ $param: 'name' }` may stand for a value. */
export type LifecycleParamFields =
  'card' | 'contract' | 'features' | 'label' | 'split' | 'train' | 'evaluate';

/** The standard life of a model, as one config object: each field typed by the schema of its step. */
export type LifecycleConfig = {
  [K in keyof LifecycleInput]: K extends 'train'
    ? WithParamRefs<LifecycleInput[K]> | TrainerUse
    : K extends LifecycleParamFields
      ? WithParamRefs<LifecycleInput[K]>
      : K extends 'source'
        ? {
            [S in keyof LifecycleInput['source']]: S extends 'uri'
              ? string
              : WithParamRefs<LifecycleInput['source'][S]>;
          }
        : LifecycleInput[K];
};
