import type { ApprovalPolicy } from './approval.js';
import type { ContractInput } from './contract.js';
import type { DeployConfig } from './deploy.js';
import { definePipeline } from './define.js';
import { PipelineDefinitionError, SluiceError } from './errors.js';
import type { BlessConfig } from './evaluation.js';
import type { JsonObject, JsonValue } from './json.js';
import { paramRefs } from './refs.js';
import { searchSchema, searchTrials, type SearchConfig } from './search.js';
import type { PipelineConfig, PipelineSpec } from './spec.js';
import { featuresSchema, labelSchema, splitSchema, trainerSchema } from './train-spec.js';

/** The standard life of a model, as one config object (STYLE.md: a short description, not plumbing). */
export interface LifecycleConfig {
  /** Stable pipeline id (in workflow ids, search attributes, histories). */
  id: string;
  description?: string;
  /** Who answers for the model; may never approve it. */
  owner?: string;
  /** Registry name of the model (`registry/<model>`); default: the pipeline id. */
  model?: string;
  /** What the model is for and what it must not be used for: read by approvers on the model card. */
  card?: { purpose?: string; intendedUse?: string; limitations?: string[] };
  /** The data, and an optional SQL transform over it (a view named `source`). */
  source: { uri: string; format?: string; sql?: string };
  /** Data contract; a broken one stops the run at the validation gate. */
  contract?: ContractInput;
  features: JsonObject;
  label: JsonObject;
  split: JsonObject;
  train: JsonObject;
  /** Hyperparameter search over `train` (trials fan out as a child workflow; the best is kept). */
  search?: SearchConfig;
  evaluate?: { slices?: JsonValue[]; fairness?: JsonValue[]; threshold?: number; bless?: BlessConfig };
  approval: Partial<ApprovalPolicy> & Pick<ApprovalPolicy, 'approvers'>;
  /** Deploy the registered version after sign-off (infra validation, then direct, canary or shadow). */
  deploy?: DeployConfig;
  /** Run parameters (`--param k=v`), referenced in the config as `{ $param: 'name' }`. */
  params?: PipelineConfig['params'];
}

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
      params: { contract: config.contract as unknown as JsonValue },
      description: 'Check the data contract; error anomalies stop the run',
    });
  }
  steps.push(
    {
      id: 'train',
      activity: 'trainModel',
      needs: ['ingest', dataReady],
      queue: 'train',
      timeout: '2h',
      heartbeat: '5m',
      cache: config.search === undefined,
      ...(config.search ? { search: config.search } : {}),
      params: {
        input: 'ingest',
        features: config.features,
        label: config.label,
        split: config.split,
        trainer: config.train,
      },
      description: 'Fit the transform and the model on the training split',
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
    {
      id: 'approve',
      needs: ['evaluate', 'card'],
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
  return definePipeline({
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
  const parts = [
    ['features', featuresSchema, config.features],
    ['label', labelSchema, config.label],
    ['split', splitSchema, config.split],
    ['trainer', trainerSchema, config.train],
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
  if (issues.length === 0 && config.search && paramRefs(config.train).length === 0) {
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
