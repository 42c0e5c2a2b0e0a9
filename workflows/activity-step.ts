import * as wf from '@temporalio/workflow';
import type { CacheLookup, StepCacheActivities } from '../activities/step-cache.js';
import { digestJson } from '../pipelines/digest.js';
import { parseDuration } from '../pipelines/duration.js';
import type { JsonValue } from '../pipelines/json.js';
import { runsLocally } from '../pipelines/local-steps.js';
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
  /**
   * Runs started by this version (patch {@link fastStepsPatch}): light steps run as local activities
   * and a ready set's cache lookups go in one call. Off while replaying a run that began before.
   */
  fastSteps?: boolean;
  /** User steps defined with `local: true` (recorded in the run's input by `sluice run`). */
  localSteps?: readonly string[];
}

/**
 * The patch that turned light steps into local activities and batched cache lookups: histories
 * recorded before it keep replaying the commands they recorded (one activity task per step).
 */
export const fastStepsPatch = 'sluice-fast-steps';

/**
 * The patch after which the DAG starts each step from the callback of the steps it waits for, and a
 * plain activity step (no gate, child or cache) makes one promise of its own instead of about ten:
 * histories recorded before it replay the loop that raced every step in flight.
 */
export const leanLoopPatch = 'sluice-lean-loop';

export interface ActivityStepResult {
  output: JsonValue;
  attempt?: number;
  cache?: { key: string; hit: boolean; from?: string };
}

const cacheActivities = () =>
  wf.proxyLocalActivities<StepCacheActivities>({
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 3 },
  });

/**
 * The step's cache key when it is cacheable, computed in workflow code from the resolved step and its
 * inputs, so a replay derives the same key.
 */
export function stepCacheKey(step: StepSpec, input: StepInput, ctx: ActivityStepContext): string | undefined {
  if (!step.cache) return undefined;
  return digestJson({
    activity: step.activity,
    params: input.params,
    inputs: input.inputs,
    runParams: input.runParams,
    code: ctx.codeVersion,
    ...(step.activity && ctx.stepCodes?.[step.activity] ? { stepCode: ctx.stepCodes[step.activity] } : {}),
  });
}

/**
 * Look up the cache keys of a whole ready set of steps in one local activity (none when no step of
 * the set is cacheable or all are forced).
 */
export function lookupReadySet(
  ready: readonly { step: StepSpec; input: StepInput }[],
  ctx: ActivityStepContext,
): Promise<Record<string, CacheLookup>> | undefined {
  const keys = ready.flatMap(({ step, input }) => {
    const key = ctx.forced.has(step.id) ? undefined : stepCacheKey(step, input, ctx);
    return key ? [key] : [];
  });
  return keys.length > 0 ? cacheActivities().lookupStepCaches(keys) : undefined;
}

/**
 * Run one activity step, through the step cache when the step is cacheable: the history records
 * whether it was a hit. `lookups` holds the ready set's batched lookups, when it was looked up at once.
 */
export async function runActivityStep(
  step: StepSpec,
  input: StepInput,
  ctx: ActivityStepContext,
  lookups?: Promise<Record<string, CacheLookup>>,
): Promise<ActivityStepResult> {
  const cache = cacheActivities();
  const key = stepCacheKey(step, input, ctx);
  if (key && !ctx.forced.has(step.id)) {
    const found = (lookups ? (await lookups)[key] : undefined) ?? (await cache.lookupStepCache(key));
    if (found.hit) return { output: found.output, cache: { key, hit: true, from: found.from } };
  }
  const local = ctx.fastSteps === true && runsLocally(step, ctx.localSteps ?? []);
  const result = await activityFor(step, ctx.taskQueues, local)(input);
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

/**
 * The step's activity, with its queue, timeout and retry policy; with `local`, a local activity on the
 * worker running this workflow (no heartbeat timeout: a local activity cannot heartbeat).
 */
export function activityFor(
  step: StepSpec,
  queues: ActivityStepContext['taskQueues'],
  local = false,
): StepActivity {
  const retry = {
    maximumAttempts: step.retry.maxAttempts,
    initialInterval: parseDuration(step.retry.initialInterval),
    backoffCoefficient: step.retry.backoff,
    maximumInterval: parseDuration(step.retry.maxInterval),
  };
  const activities = local
    ? wf.proxyLocalActivities<Record<string, StepActivity>>({
        startToCloseTimeout: parseDuration(step.timeout),
        retry,
        summary: step.id,
      })
    : wf.proxyActivities<Record<string, StepActivity>>({
        // Sluice's two pools by role; any other name is a task queue as it stands (the user's own workers).
        taskQueue: step.queue === 'orchestration' || step.queue === 'train' ? queues[step.queue] : step.queue,
        startToCloseTimeout: parseDuration(step.timeout),
        ...(step.heartbeat ? { heartbeatTimeout: parseDuration(step.heartbeat) } : {}),
        retry,
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
