/**
 * The `sluice` package: what a data engineer imports to define pipelines and steps and to drive runs
 * from a script (`import { definePipeline, mlLifecycle, defineStep, defineTrainer, createClient } from 'sluice'`).
 */
import { loadConfig, type SluiceConfig } from './lib/config.js';
import { openClient, type SluiceClient } from './client/index.js';

export { definePipeline } from './pipelines/define.js';
export { mlLifecycle, type LifecycleConfig } from './pipelines/lifecycle.js';
export type { PipelineSpec } from './pipelines/spec.js';
export { defineStep } from './pipelines/custom-step.js';
export type {
  StepDefinition,
  StepConfig,
  StepContext,
  StepArtifacts,
  StepArtifactMeta,
  StepDatabase,
  StepLog,
} from './pipelines/custom-step.js';
export { defineTrainer } from './pipelines/define-trainer.js';
export type {
  TrainerDefinition,
  TrainerConfig,
  TrainerContext,
  TrainerData,
  TrainerSettings,
  TrainerUse,
  TrainedModel,
} from './pipelines/define-trainer.js';
export type { ArtifactRef } from './pipelines/artifact.js';
export {
  SluiceError,
  InvalidInputError,
  DataValidationError,
  PipelineDefinitionError,
  DependencyUnavailableError,
  PermissionDeniedError,
  ConfigurationError,
} from './pipelines/errors.js';
export { SluiceClient, RunFailedError, RunStoppedError, RegistryRefusedError } from './client/index.js';
export type {
  RunHandle,
  RunOptions,
  DecisionOptions,
  DecisionOutcome,
  RunFilter,
  RunReport,
  RunSummary,
  ModelSummary,
} from './client/index.js';
export type { SluiceConfig } from './lib/config.js';

export interface CreateClientOptions {
  /** A parsed configuration; default: read from the environment (`TEMPORAL_ADDRESS`, `SLUICE_HOME`, …). */
  config?: SluiceConfig;
  /** Directory relative paths resolve against; default: the working directory. */
  cwd?: string;
}

/**
 * Connect to the Temporal cluster Sluice runs on and return the control plane as a library: `run`,
 * `status`, `runs`, `approve`, `reject`, `cancel`, `rerun`, `models`, `promote`, `rollback`,
 * `trigger`, `schedules`, `monitors`. Close it with `close()` when done.
 *
 * @throws ConfigurationError naming a bad environment variable; DependencyUnavailableError with the
 *   fix when Temporal does not answer.
 */
export function createClient(options: CreateClientOptions = {}): Promise<SluiceClient> {
  return openClient(options.config ?? loadConfig(process.env, options.cwd ?? process.cwd()));
}
