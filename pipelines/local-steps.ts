import type { StepSpec } from './spec.js';

/**
 * Built-in steps that move no data and finish in milliseconds (a no-op, a small JSON summary, the
 * production model's lookup): the DAG runs them as local activities on the worker that runs the
 * workflow, so they skip the two task round trips through the server that a step otherwise pays. Their
 * results are still recorded in the run's history (as local-activity markers), and a step that has
 * not been recorded when a worker dies runs again, as any activity attempt would.
 */
export const localBuiltinSteps: readonly string[] = ['noop', 'writeRunSummary', 'productionModel'];
// Not `registerModel`: it is an update on the model's registry workflow, which waits (up to 15 s) for a
// worker to answer, and the fault suite kills workers inside it to prove a retried registration adds
// no version; as an activity it keeps its own attempt, timeout and heartbeat.

/**
 * Whether a step runs as a local activity: an activity step on the `orchestration` pool whose `local`
 * says so, or, when the pipeline leaves `local` out, a light built-in step or a user's step defined
 * with `local: true` (`localSteps`, recorded in the run's input by `sluice run`). Searches, deploys
 * and approval gates never do; nor does a step on another queue (a local activity runs where the
 * workflow runs).
 */
export function runsLocally(
  step: Pick<StepSpec, 'activity' | 'queue' | 'local' | 'search'>,
  localSteps: readonly string[],
): boolean {
  if (step.activity === undefined || step.search !== undefined || step.queue !== 'orchestration')
    return false;
  if (step.local !== undefined) return step.local;
  return localBuiltinSteps.includes(step.activity) || localSteps.includes(step.activity);
}
