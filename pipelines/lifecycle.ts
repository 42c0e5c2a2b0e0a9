import { buildPipeline } from './define.js';
import { PipelineDefinitionError, SluiceError } from './errors.js';
import type { JsonValue } from './json.js';
import type { LifecycleConfig } from './lifecycle-schema.js';
import { paramRefs } from './refs.js';
import { searchSchema, searchTrials } from './search.js';
import type { PipelineConfig, PipelineSpec } from './spec.js';
import type { z } from 'zod';
import { denseTrainerSchema, featuresSchema, labelSchema, splitSchema, trainerSchema } from './train-spec.js';
import { calibrationIssue } from './calibration.js';
import { isTrainerUse, type TrainerUse } from './define-trainer.js';

export type { LifecycleConfig } from './lifecycle-schema.js';

/**
 * Expand the standard stages — ingest → statistics → validate → train → (production) → evaluate → model card →
 * approve → register (→ deploy) — into a pipeline spec, with the validation, evaluation and approval gates in
 * place and the deterministic steps cached. The result is an ordinary spec: lint, status, audit and
 * rerun treat it like any hand-written one.
 */
export function mlLifecycle(config: LifecycleConfig): PipelineSpec {
  checkTraining(config);
  // The source is a run parameter (default: the configured file), so a trigger or `--param source=…`
  // can point the same pipeline at new data.
  const ingest = {
    source: { $param: 'source' },
    ...(config.source.format ? { format: config.source.format } : {}),
    ...(config.source.sql ? { sql: config.source.sql } : {}),
  };
  const steps: PipelineConfig['steps'] = [
    {
      id: 'ingest',
      activity: 'ingestDataset',
      params: ingest,
      description: 'Snapshot the source as zstd Parquet',
    },
    {
      id: 'stats',
      activity: 'computeStatistics',
      needs: ['ingest'],
      cache: true,
      description: 'Statistics of the snapshot',
    },
  ];
  const dataReady = config.contract ? 'validate' : 'stats';
  if (config.contract) {
    steps.push({
      id: 'validate',
      activity: 'validateDataset',
      needs: ['stats'],
      gate: 'validation',
      cache: true,
      params: { contract: json(config.contract) },
      description: 'Check the data contract; error anomalies stop the run',
    });
  }
  // The user's feature steps: a chain from the checked snapshot; training reads the last one's dataset.
  let trainInput = 'ingest';
  for (const [index, prepare] of (config.prepare ?? []).entries()) {
    steps.push({
      ...prepare,
      needs: index === 0 ? ['ingest', dataReady] : [trainInput],
      description: prepare.description ?? `Your feature step ${prepare.activity}`,
    });
    trainInput = prepare.id;
  }
  const checks = (config.checks ?? []).map((check) => ({
    ...check,
    needs: ['train', 'evaluate'],
    description: check.description ?? `Your check ${check.activity}, before sign-off`,
  }));
  const data = {
    input: trainInput,
    features: json(config.features),
    label: json(config.label),
    split: json(config.split),
  };
  const custom = isTrainerUse(config.train) ? config.train : undefined;
  steps.push(
    {
      id: 'train',
      activity: custom ? custom.trainer.name : 'trainModel',
      needs: trainInput === 'ingest' ? ['ingest', dataReady] : [trainInput],
      queue: 'train',
      timeout: '2h',
      // Built-in training runs on its own thread (activities/train/train-thread.ts): heartbeats flow
      // through long epochs, so a lost worker is noticed as soon as any other step's. A trainer of your
      // own runs on the activity's thread and may hold it for a whole epoch: it keeps 5 minutes.
      heartbeat: custom ? '5m' : '20s',
      cache: config.search === undefined,
      ...(config.search ? { search: config.search } : {}),
      params: custom
        ? {
            ...data,
            trainer: { name: custom.trainer.name, ...(json(custom.settings) as object) },
            params: custom.params,
          }
        : { ...data, trainer: json(config.train) },
      description: custom
        ? `Fit the transform, then your trainer ${custom.trainer.name}, on the training split`
        : 'Fit the transform and the model on the training split',
    },
    {
      id: 'production',
      activity: 'productionModel',
      needs: ['train'],
      params: { model: config.model ?? config.id },
      description: 'The model in production now, to compare the candidate with',
    },
    {
      id: 'evaluate',
      activity: 'evaluateModel',
      needs: ['train', 'production'],
      gate: 'evaluation',
      cache: true,
      params: config.evaluate ?? {},
      description: 'Metrics with intervals, slices, fairness; not blessed stops the run',
    },
    {
      id: 'card',
      activity: 'renderModelCard',
      needs: ['evaluate'],
      params: { ...(config.card ?? {}), ...(config.owner ? { owner: config.owner } : {}) },
      description: 'The model card an approver reads',
    },
    ...checks,
    {
      id: 'approve',
      needs: ['evaluate', 'card', ...checks.map((check) => check.id)],
      approval: { ...config.approval, subject: 'evaluate' },
      description: 'Sign-off under the approval policy',
    },
    {
      id: 'register',
      activity: 'registerModel',
      needs: ['train', 'evaluate', 'approve'],
      params: {
        model: config.model ?? config.id,
        modelFrom: 'train',
        metricsFrom: 'evaluate',
        approvalsFrom: 'approve',
      },
      description: 'Register the approved model as the candidate, with its lineage',
    },
  );
  if (config.deploy) {
    steps.push({
      id: 'deploy',
      needs: ['register'],
      deploy: config.deploy,
      description: `Infra validation, then a ${config.deploy.strategy} rollout with automatic promote or rollback`,
    });
  }
  return buildPipeline({
    id: config.id,
    ...(config.description ? { description: config.description } : {}),
    ...(config.owner ? { owner: config.owner } : {}),
    params: {
      source: {
        type: 'string',
        default: config.source.uri,
        description: 'The dataset to train on (a path inside the data roots).',
      },
      ...config.params,
    },
    steps,
  });
}

/**
 * Check the training config with the schemas the `train` step parses at run time, so `epochs: 1e12`,
 * a negative batch size or a search range past a bound is refused when the pipeline is defined (naming
 * the step, the parameter and its allowed range), not an hour later when the run reaches training.
 * Parts holding a `$param` reference are left to the step: their value is known only at run start.
 *
 * @throws PipelineDefinitionError listing every issue.
 */
function checkTraining(config: LifecycleConfig): void {
  if (isTrainerUse(config.train)) {
    checkCustomTraining(config, config.train);
    return;
  }
  const parts = [
    ['features', featuresSchema, json(config.features)],
    ['label', labelSchema, json(config.label)],
    ['split', splitSchema, json(config.split)],
    ['trainer', trainerSchema, json(config.train)],
  ] as const;
  const issues: string[] = [];
  for (const [name, schema, value] of parts) {
    if (paramRefs(value).length > 0) continue;
    const parsed = schema.safeParse(value);
    if (parsed.success) continue;
    issues.push(
      ...parsed.error.issues.map((issue) => `${[name, ...issue.path].join('.')}: ${issue.message}`),
    );
  }
  if (issues.length === 0 && paramRefs(json([config.train, config.label])).length === 0) {
    const issue = calibrationIssue(trainerSchema.parse(config.train), labelSchema.parse(config.label).task);
    if (issue !== null) issues.push(`trainer.calibration: ${issue}`);
  }
  if (issues.length === 0 && config.search && paramRefs(json(config.train)).length === 0) {
    const search = searchSchema.safeParse(config.search);
    if (search.success) {
      try {
        searchTrials(trainerSchema.parse(config.train), search.data);
      } catch (error) {
        if (!(error instanceof SluiceError)) throw error;
        issues.push(error.message);
      }
    }
  }
  if (issues.length > 0) {
    throw new PipelineDefinitionError(
      `pipeline "${config.id}": step "train" params are invalid: ${issues.join('; ')}`,
      { details: { pipeline: config.id, step: 'train', issues } },
    );
  }
}

/**
 * The same checks for a trainer of the user's own (`myTrainer.use(params, settings)`): features, label
 * and split by Sluice's schemas, the params by the trainer's schema, and the settings Sluice applies
 * around the fit. A search is refused: it varies a built-in trainer's hyperparameters.
 *
 * @throws PipelineDefinitionError listing every issue, naming the trainer.
 */
function checkCustomTraining(config: LifecycleConfig, use: TrainerUse): void {
  const issues: string[] = [];
  const collect = (name: string, schema: z.ZodType, value: JsonValue) => {
    if (paramRefs(value).length > 0) return;
    const parsed = schema.safeParse(value);
    if (parsed.success) return;
    issues.push(
      ...parsed.error.issues.map((issue) => `${[name, ...issue.path].join('.')}: ${issue.message}`),
    );
  };
  collect('features', featuresSchema, json(config.features));
  collect('label', labelSchema, json(config.label));
  collect('split', splitSchema, json(config.split));
  collect(`${use.trainer.name}.params`, use.trainer.params, use.params);
  collect('trainer', trainerSettingsSchema, json(use.settings));
  if (issues.length === 0 && paramRefs(json(config.label)).length === 0) {
    const issue = calibrationIssue(use.settings, labelSchema.parse(config.label).task);
    if (issue !== null) issues.push(`trainer.calibration: ${issue}`);
  }
  if (config.search) {
    issues.push(
      `search: a search varies a built-in trainer's hyperparameters, not your trainer ${use.trainer.name}'s: remove search, or search inside fit`,
    );
  }
  if (issues.length > 0) {
    throw new PipelineDefinitionError(
      `pipeline "${config.id}": step "train" (your trainer ${use.trainer.name}) params are invalid: ${issues.join('; ')}`,
      { details: { pipeline: config.id, step: 'train', trainer: use.trainer.name, issues } },
    );
  }
}

/** The settings Sluice applies around a user's fit (`use(params, settings)`). */
const trainerSettingsSchema = denseTrainerSchema
  .pick({ seed: true, classWeight: true, calibration: true })
  .strict();

/**
 * A config value as the JSON it is: the typed config allows readonly arrays and `$param` references,
 * which TypeScript will not widen to `JsonValue` by itself. Zod checks the value when the step runs.
 */
function json(value: unknown): JsonValue {
  return value as JsonValue;
}
