import type { DataConverter } from '@temporalio/common';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { AuditInputError } from './errors.js';
import {
  commandEventTypes,
  eventId,
  eventTypeName,
  isEventType,
  type HistoryEvent,
  type LoadedHistory,
} from './history.js';
import { withReplayer, type Replay, type ReplayFailure } from './replayer.js';

/** One history to replay: where it came from and the workflow id it ran under. */
export interface ReplayTarget {
  source: string;
  loaded: LoadedHistory;
  workflowId: string;
}

/** Where replay first disagreed with the history, and Temporal's reason. */
export interface Divergence {
  eventId: number;
  eventType: string;
  why: string;
  /** True for a determinism violation (the code would act differently); false for a task failure. */
  nondeterminism: boolean;
}

export interface ReplayOutcome {
  source: string;
  workflowId: string;
  runId: string;
  workflowType: string;
  events: number;
  ok: boolean;
  /** Time the replay of the whole history took on the shared replay worker. */
  ms: number;
  divergence: Divergence | null;
  /** Said when there was nothing to replay (no workflow task ran yet). */
  note: string | null;
}

/**
 * Replay histories against a workflow bundle, one replay worker for all of them. A history that
 * does not reproduce is then replayed in prefixes cut at workflow-task boundaries (a binary search) to
 * find the workflow task whose commands first differ, and within it the event Temporal complained
 * about; that event, its type and Temporal's reason are the divergence.
 *
 * @throws AuditInputError before replaying anything, for a history of a workflow type not in `knownTypes`.
 */
export async function replayHistories(
  targets: ReplayTarget[],
  bundle: WorkflowBundleWithSourceMap,
  knownTypes: readonly string[],
  dataConverter?: DataConverter,
): Promise<ReplayOutcome[]> {
  for (const { source, loaded } of targets) {
    if (!knownTypes.includes(loaded.workflowType)) {
      throw new AuditInputError(
        `${source} is a history of workflow type "${loaded.workflowType}", which Sluice does not run (it runs ${knownTypes.join(', ')}): replay it with the code that ran it`,
      );
    }
  }
  return withReplayer(bundle, dataConverter, async (replay) => {
    const outcomes: ReplayOutcome[] = [];
    for (const target of targets) {
      const { loaded } = target;
      const base = {
        source: target.source,
        workflowId: target.workflowId,
        runId: loaded.runId,
        workflowType: loaded.workflowType,
        events: loaded.events.length,
      };
      if (!loaded.events.some((e) => isEventType(e, 'EVENT_TYPE_WORKFLOW_TASK_STARTED'))) {
        outcomes.push({ ...base, ok: true, ms: 0, divergence: null, note: 'no workflow task has run yet' });
        continue;
      }
      const started = performance.now();
      const failure = await replay(loaded.history, target.workflowId);
      const ms = Math.round(performance.now() - started);
      outcomes.push({
        ...base,
        ok: failure === undefined,
        ms,
        divergence: failure ? await locate(replay, target, failure) : null,
        note: null,
      });
    }
    return outcomes;
  });
}

/** Temporal's own reason, without the core's wrapping: `Activity type of scheduled event 'x' does not match…`. */
export function replayReason(error: Error): string {
  const inner = /message: "((?:[^"\\]|\\.)*)"/.exec(error.message)?.[1];
  const text = (inner ?? error.message.split('\n')[0] ?? '').replace(/\\"/g, '"');
  return text.replace(/^\[TMPRL\d+\]\s*/, '').replace(/^Nondeterminism error:\s*/, 'nondeterminism: ');
}

async function locate(replay: Replay, target: ReplayTarget, failure: Error): Promise<Divergence> {
  const { events } = target.loaded;
  const why = replayReason(failure);
  const nondeterminism = failure.name === 'DeterminismViolationError';
  const at = (event: HistoryEvent): Divergence => ({
    eventId: eventId(event),
    eventType: eventTypeName(event),
    why,
    nondeterminism,
  });
  const named = /HistoryEvent\(id: (\d+)/.exec(why)?.[1];
  const direct = named === undefined ? undefined : events[Number(named) - 1];
  if (direct) return at(direct);

  // Smallest prefix, cut just after a WorkflowTaskStarted, that fails: the task before it was fine.
  const boundaries = events.filter((e) => isEventType(e, 'EVENT_TYPE_WORKFLOW_TASK_STARTED')).map(eventId);
  let lo = 0;
  let hi = boundaries.length; // boundaries.length stands for the whole history, known to fail
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const cut = boundaries[mid] as number;
    const prefix = { events: events.slice(0, cut) };
    const failed: ReplayFailure = await replay(prefix, target.workflowId);
    if (failed) hi = mid;
    else lo = mid + 1;
  }
  const passed = lo > 0 ? (boundaries[lo - 1] as number) : 0;
  const failedAt = lo < boundaries.length ? (boundaries[lo] as number) : events.length + 1;
  const window = events.slice(passed, failedAt - 1);
  const commands = window.filter((e) => commandEventTypes.has(e.eventType ?? 0));
  const quoted = [...why.matchAll(/'([^']+)'/g)].map((m) => m[1] as string);
  const mentioned = commands.find((e) => quoted.some((q) => JSON.stringify(e).includes(`"${q}"`)));
  const culprit = mentioned ?? commands[0] ?? events[failedAt - 1] ?? events[events.length - 1];
  return at(culprit as HistoryEvent);
}
