import * as wf from '@temporalio/workflow';
import type { StepCacheActivities } from '../activities/step-cache.js';
import { digestJson } from '../pipelines/digest.js';
import { parseDuration } from '../pipelines/duration.js';
import type { JsonValue } from '../pipelines/json.js';
import type { StepSpec } from '../pipelines/spec.js';
import type { StepActivity, StepInput } from '../pipelines/step.js';

export interface ActivityStepContext {
  taskQueues: { orchestration: string; train: string };
  /** Part of every cache key: a new Sluice version never reuses an older version's outputs. */
  codeVersion: string;
  /** Steps that must run even when cached (a rerun `--from` a step, and everything after it). */
  forced: ReadonlySet<string>;
  /** sha256 of each user step's module, by step name (from `--steps`): part of that step's cache key. */
  stepCodes?: Readonly<Record<string, string>>;
}

export interface ActivityStepResult {
  output: JsonValue;
  attempt?: number;
  cache?: { key: string; hit: boolean; from?: string };
}

/**
 * Run one activity step, through the step cache when the step is cacheable: the key is computed
 * here, in workflow code, from the resolved step and its inputs, so a replay derives the same key and
 * the history records whether it was a hit.
 */
export async function runActivityStep(
  step: StepSpec,
  input: StepInput,
  ctx: ActivityStepContext,
): Promise<ActivityStepResult> {
  const cache = wf.proxyLocalActivities<StepCacheActivities>({
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 3 },
  });
  const key = step.cache
    ? digestJson({
        activity: step.activity,
        params: input.params,
        inputs: input.inputs,
        runParams: input.runParams,
        code: ctx.codeVersion,
        ...(step.activity && ctx.stepCodes?.[step.activity]
          ? { stepCode: ctx.stepCodes[step.activity] }
          : {}),
      })
    : undefined;
  if (key && !ctx.forced.has(step.id)) {
    const found = await cache.lookupStepCache(key);
    if (found.hit) return { output: found.output, cache: { key, hit: true, from: found.from } };
  }
  const result = await activityFor(step, ctx.taskQueues)(input);
  if (key) {
    await cache.storeStepCache({
      key,
      pipeline: input.run.pipeline,
      step: step.id,
      workflowId: input.run.workflowId,
      output: result.output,
    });
  }
  return { output: result.output, attempt: result.attempt, ...(key ? { cache: { key, hit: false } } : {}) };
}

/** The step's activity, with its queue, timeout and retry policy. */
export function activityFor(step: StepSpec, queues: ActivityStepContext['taskQueues']): StepActivity {
  const activities = wf.proxyActivities<Record<string, StepActivity>>({
    // Sluice's two pools by role; any other name is a task queue as it stands (the user's own workers).
    taskQueue: step.queue === 'orchestration' || step.queue === 'train' ? queues[step.queue] : step.queue,
    startToCloseTimeout: parseDuration(step.timeout),
    ...(step.heartbeat ? { heartbeatTimeout: parseDuration(step.heartbeat) } : {}),
    retry: {
      maximumAttempts: step.retry.maxAttempts,
      initialInterval: parseDuration(step.retry.initialInterval),
      backoffCoefficient: step.retry.backoff,
      maximumInterval: parseDuration(step.retry.maxInterval),
    },
  });
  const activity = activities[step.activity ?? ''];
  if (!activity)
    throw wf.ApplicationFailure.nonRetryable(`no activity "${step.activity}"`, 'UnknownActivity');
  return activity;
}

/** `from` and every step that depends on it, directly or not. */
export function stepsFrom(steps: readonly Pick<StepSpec, 'id' | 'needs'>[], from: string): Set<string> {
  const forced = new Set([from]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const step of steps) {
      if (!forced.has(step.id) && step.needs.some((need) => forced.has(need))) {
        forced.add(step.id);
        grew = true;
      }
    }
  }
  return forced;
}
