import * as wf from '@temporalio/workflow';
import type { JsonObject, JsonValue } from '../pipelines/json.js';
import {
  bestTrial,
  searchTrials,
  type SearchSpec,
  type Trial,
  type TrialResult,
} from '../pipelines/search.js';
import type { StepSpec } from '../pipelines/spec.js';
import type { StepInput } from '../pipelines/step.js';
import type { TrainerConfig } from '../pipelines/train-spec.js';
import { activityFor, type ActivityStepContext } from './activity-step.js';

export interface SearchInput {
  step: StepSpec;
  search: SearchSpec;
  /** The step's input; each trial replaces `params.trainer` with its point of the search space. */
  stepInput: StepInput;
  taskQueues: ActivityStepContext['taskQueues'];
}

export interface TrialRecord {
  id: string;
  values: Record<string, JsonValue>;
  state: 'running' | 'succeeded' | 'failed';
  value: number | null;
  model: string | null;
  error?: string;
}

export interface SearchStatus {
  step: string;
  trials: TrialRecord[];
  best: string | null;
  reason: string;
}

export const searchStatusQuery = wf.defineQuery<SearchStatus>('status');

/**
 * A hyperparameter search as a child workflow of its run (the fan-out): every trial is one training
 * activity on the `train` queue, at most `maxParallel` at once, each recorded; the winner is picked in
 * workflow code by the search metric, so a replay picks the same. Returns the best trial's output with
 * the whole search attached.
 */
export async function searchWorkflow(input: SearchInput): Promise<JsonObject> {
  const base = input.stepInput.params['trainer'] as unknown as TrainerConfig;
  let trials: Trial[];
  try {
    trials = searchTrials(base, input.search);
  } catch (error) {
    throw wf.ApplicationFailure.nonRetryable((error as Error).message, 'InvalidInputError');
  }
  const status: SearchStatus = {
    step: input.step.id,
    trials: trials.map((t) => ({ id: t.id, values: t.values, state: 'running', value: null, model: null })),
    best: null,
    reason: 'running',
  };
  wf.setHandler(searchStatusQuery, () => status);
  const train = activityFor(input.step, input.taskQueues);
  const outputs: Record<string, JsonObject> = {};
  const results: TrialResult[] = [];

  const runTrial = async (trial: Trial, record: TrialRecord) => {
    try {
      const result = await train({
        ...input.stepInput,
        step: `${input.step.id}/${trial.id}`,
        params: { ...input.stepInput.params, trainer: trial.trainer as unknown as JsonValue },
      });
      const output = result.output as JsonObject;
      outputs[trial.id] = output;
      const metrics = (output['metrics'] ?? {}) as JsonObject;
      const raw = metrics[input.search.metric] ?? output[input.search.metric];
      record.value = typeof raw === 'number' ? raw : null;
      record.model =
        typeof (output['model'] as JsonObject | undefined)?.['sha256'] === 'string'
          ? ((output['model'] as JsonObject)['sha256'] as string)
          : null;
      record.state = 'succeeded';
      results.push({ trial, value: record.value });
    } catch (error) {
      if (wf.isCancellation(error)) throw error;
      record.state = 'failed';
      record.error = error instanceof Error ? error.message : String(error);
      results.push({ trial, value: null });
    }
  };

  // A bounded pool: start trials in order, never more than maxParallel at once.
  let next = 0;
  const worker = async () => {
    while (next < trials.length) {
      const index = next++;
      await runTrial(trials[index] as Trial, status.trials[index] as TrialRecord);
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.search.maxParallel, trials.length) }, worker));

  results.sort((a, b) => a.trial.index - b.trial.index);
  const { best, reason } = bestTrial(results, input.search);
  status.reason = reason;
  if (!best)
    throw wf.ApplicationFailure.nonRetryable(`search at step "${input.step.id}": ${reason}`, 'SearchFailed');
  status.best = best.trial.id;
  return { ...(outputs[best.trial.id] as JsonObject), search: status as unknown as JsonValue };
}
