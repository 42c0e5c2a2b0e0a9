import type proto from '@temporalio/proto';
import type { JsonValue } from '../pipelines/json.js';
import { eventId, eventTime, type HistoryEvent, type LoadedHistory } from './history.js';
import { count, object, text } from './json-read.js';
import { decodePayload, decodePayloads, firstValue, type Decoded } from './payloads.js';

type Failure = proto.temporal.api.failure.v1.IFailure;

/** A failure as a person reads it: the innermost cause's type and message. */
export interface FailureFact {
  type: string;
  message: string;
  /** The outermost failure's details (the DAG workflow attaches its status there). */
  details: Decoded[];
}

/** One activity as history tells it: what was asked, every attempt the server recorded, the outcome. */
export interface ActivityFact {
  scheduledEventId: number;
  activityId: string;
  type: string;
  taskQueue: string;
  input: JsonValue | undefined;
  scheduledAt: string | null;
  /** The attempt that ended it (earlier attempts are retried server-side and leave only `lastFailure`). */
  attempt: number;
  startedAt: string | null;
  finishedAt: string | null;
  outcome: 'completed' | 'failed' | 'timed-out' | 'cancelled' | 'open';
  result: JsonValue | undefined;
  failure: FailureFact | null;
  /** The failure of the attempt before the last one, when there were retries. */
  lastFailure: FailureFact | null;
  /** The worker identity that ran the last attempt. */
  worker: string | null;
  /**
   * For a local activity (`taskQueue` `(local)`, recorded as a marker without its input): the step it
   * ran, from the summary the DAG workflow gives it.
   */
  step?: string;
}

/** A signal received, with who sent it (the client identity Temporal recorded). */
export interface SignalFact {
  eventId: number;
  at: string | null;
  name: string;
  args: Decoded[];
  identity: string;
}

/** An update accepted by the workflow, and how it ended (result, or the failure the handler threw). */
export interface UpdateFact {
  eventId: number;
  at: string | null;
  updateId: string;
  name: string;
  args: Decoded[];
  identity: string;
  completedAt: string | null;
  outcome: { ok: true; result: JsonValue | undefined } | { ok: false; failure: FailureFact } | null;
}

/** A child workflow the run started. */
export interface ChildFact {
  workflowId: string;
  workflowType: string;
  runId: string | null;
  initiatedAt: string | null;
}

/** How the execution ended, or `open` while it runs. */
export interface CloseFact {
  kind: 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed-out' | 'continued-as-new' | 'open';
  at: string | null;
  result: JsonValue | undefined;
  failure: FailureFact | null;
  /** For `terminated`: the reason and identity given. For `continued-as-new`: the next run id. */
  note: string | null;
}

/**
 * Everything a history says about one execution, decoded into plain values: the start (input, who
 * started it, parent), activities matched to their outcomes, signals, updates, children and the close.
 * Workflow-type agnostic; `run-report.ts` interprets it for Sluice pipeline runs.
 */
export interface HistoryFacts {
  workflowId: string;
  runId: string;
  workflowType: string;
  taskQueue: string;
  /** The client identity that started the execution (`pid@host` for SDK clients, `temporal-cli:…`). */
  startedByIdentity: string;
  startedAt: string | null;
  input: Decoded[];
  parent: { workflowId: string; runId: string } | null;
  continuedFromRunId: string | null;
  /** Build ids of the workers that completed workflow tasks (`…+<sha256 of the workflow bundle>`). */
  workerBuildIds: string[];
  activities: ActivityFact[];
  signals: SignalFact[];
  updates: UpdateFact[];
  children: ChildFact[];
  timers: number;
  events: number;
  close: CloseFact;
}

/** Read the facts of one history. Pure: no I/O, no clock; equal histories give equal facts. */
export function historyFacts(loaded: LoadedHistory): HistoryFacts {
  const [first] = loaded.events;
  const start = first?.workflowExecutionStartedEventAttributes ?? {};
  const activities = new Map<number, ActivityFact>();
  const updates = new Map<string, UpdateFact>();
  const children = new Map<number, ChildFact>();
  const signals: SignalFact[] = [];
  const buildIds = new Set<string>();
  let timers = 0;
  let close: CloseFact = { kind: 'open', at: null, result: undefined, failure: null, note: null };
  const activity = (id: unknown) => activities.get(Number(id ?? 0));

  for (const event of loaded.events) {
    const at = eventTime(event);
    const id = eventId(event);
    if (event.activityTaskScheduledEventAttributes) {
      const a = event.activityTaskScheduledEventAttributes;
      activities.set(id, {
        scheduledEventId: id,
        activityId: a.activityId ?? '',
        type: a.activityType?.name ?? '',
        taskQueue: a.taskQueue?.name ?? '',
        input: firstValue(a.input),
        scheduledAt: at,
        attempt: 0,
        startedAt: null,
        finishedAt: null,
        outcome: 'open',
        result: undefined,
        failure: null,
        lastFailure: null,
        worker: null,
      });
    } else if (event.activityTaskStartedEventAttributes) {
      const a = event.activityTaskStartedEventAttributes;
      const fact = activity(a.scheduledEventId);
      if (fact) {
        fact.attempt = a.attempt ?? 1;
        fact.startedAt = at;
        fact.worker = a.identity ?? null;
        fact.lastFailure = a.lastFailure ? failureFact(a.lastFailure) : null;
      }
    } else if (event.activityTaskCompletedEventAttributes) {
      const a = event.activityTaskCompletedEventAttributes;
      const fact = activity(a.scheduledEventId);
      if (fact) Object.assign(fact, { outcome: 'completed', finishedAt: at, result: firstValue(a.result) });
    } else if (event.activityTaskFailedEventAttributes) {
      const a = event.activityTaskFailedEventAttributes;
      const fact = activity(a.scheduledEventId);
      if (fact) Object.assign(fact, { outcome: 'failed', finishedAt: at, failure: failureFact(a.failure) });
    } else if (event.activityTaskTimedOutEventAttributes) {
      const a = event.activityTaskTimedOutEventAttributes;
      const fact = activity(a.scheduledEventId);
      if (fact)
        Object.assign(fact, { outcome: 'timed-out', finishedAt: at, failure: failureFact(a.failure) });
    } else if (event.activityTaskCanceledEventAttributes) {
      const fact = activity(event.activityTaskCanceledEventAttributes.scheduledEventId);
      if (fact) Object.assign(fact, { outcome: 'cancelled', finishedAt: at });
    } else if (event.markerRecordedEventAttributes?.markerName === localActivityMarker) {
      // Steps run as local activities; the step cache's own lookups and stores (no step) are left out,
      // as before: each step's status already says whether its output came from the cache.
      const fact = localActivityFact(event, id, at);
      if (fact.step !== undefined) activities.set(id, fact);
    } else if (event.workflowExecutionSignaledEventAttributes) {
      const a = event.workflowExecutionSignaledEventAttributes;
      signals.push({
        eventId: id,
        at,
        name: a.signalName ?? '',
        args: decodePayloads(a.input),
        identity: a.identity ?? '',
      });
    } else if (event.workflowExecutionUpdateAcceptedEventAttributes) {
      const a = event.workflowExecutionUpdateAcceptedEventAttributes;
      const request = a.acceptedRequest;
      const updateId = request?.meta?.updateId ?? a.protocolInstanceId ?? '';
      updates.set(updateId, {
        eventId: id,
        at,
        updateId,
        name: request?.input?.name ?? '',
        args: decodePayloads(request?.input?.args),
        identity: request?.meta?.identity ?? '',
        completedAt: null,
        outcome: null,
      });
    } else if (event.workflowExecutionUpdateCompletedEventAttributes) {
      const a = event.workflowExecutionUpdateCompletedEventAttributes;
      const fact = updates.get(a.meta?.updateId ?? '');
      if (fact) {
        fact.completedAt = at;
        fact.outcome = a.outcome?.failure
          ? { ok: false, failure: failureFact(a.outcome.failure) }
          : { ok: true, result: firstValue(a.outcome?.success) };
      }
    } else if (event.workflowTaskCompletedEventAttributes) {
      const a = event.workflowTaskCompletedEventAttributes;
      const buildId = a.workerVersion?.buildId ?? a.deploymentVersion?.buildId;
      if (buildId) buildIds.add(buildId);
    } else if (event.timerStartedEventAttributes) {
      timers += 1;
    } else if (event.startChildWorkflowExecutionInitiatedEventAttributes) {
      const a = event.startChildWorkflowExecutionInitiatedEventAttributes;
      children.set(id, {
        workflowId: a.workflowId ?? '',
        workflowType: a.workflowType?.name ?? '',
        runId: null,
        initiatedAt: at,
      });
    } else if (event.childWorkflowExecutionStartedEventAttributes) {
      const a = event.childWorkflowExecutionStartedEventAttributes;
      const child = children.get(Number(a.initiatedEventId ?? 0));
      if (child) child.runId = a.workflowExecution?.runId ?? null;
    } else {
      close = closeFact(event, at) ?? close;
    }
  }

  return {
    workflowId: start.workflowId ?? '',
    runId: loaded.runId,
    workflowType: loaded.workflowType,
    taskQueue: start.taskQueue?.name ?? '',
    startedByIdentity: start.identity ?? '',
    startedAt: first ? eventTime(first) : null,
    input: decodePayloads(start.input),
    parent: start.parentWorkflowExecution
      ? {
          workflowId: start.parentWorkflowExecution.workflowId ?? '',
          runId: start.parentWorkflowExecution.runId ?? '',
        }
      : null,
    continuedFromRunId: start.continuedExecutionRunId || null,
    workerBuildIds: [...buildIds],
    activities: [...activities.values()],
    signals,
    updates: [...updates.values()],
    children: [...children.values()],
    timers,
    events: loaded.events.length,
    close,
  };
}

/** The marker Temporal's core SDK records for each local activity (one per activity, not per attempt). */
export const localActivityMarker = 'core_local_activity';

/**
 * A local activity as history tells it: its marker holds the type, the attempt that ended it, when it
 * completed and its result or failure. Its input is not recorded, so the step comes from its summary.
 */
function localActivityFact(event: HistoryEvent, eventId: number, at: string | null): ActivityFact {
  const marker = event.markerRecordedEventAttributes;
  const data = object(firstValue(marker?.details?.['data']));
  const summary = event.userMetadata?.summary ? decodePayload(event.userMetadata.summary) : undefined;
  const step = summary?.ok ? text(summary.value) : null;
  const failure = marker?.failure ? failureFact(marker.failure) : null;
  const completedAt = timestamp(data['complete_time']) ?? at;
  return {
    scheduledEventId: eventId,
    activityId: text(data['activity_id']) ?? '',
    type: text(data['activity_type']) ?? '',
    taskQueue: '(local)',
    input: undefined,
    scheduledAt: timestamp(data['original_schedule_time']) ?? completedAt,
    attempt: count(data['attempt']) ?? 1,
    startedAt: null,
    finishedAt: completedAt,
    outcome: failure ? 'failed' : 'completed',
    result: failure ? undefined : firstValue(marker?.details?.['result']),
    failure,
    lastFailure: null,
    worker: null,
    ...(step ? { step } : {}),
  };
}

/** A protobuf Timestamp as the marker's JSON writes it (`{ seconds, nanos }`), as ISO text. */
function timestamp(value: JsonValue | undefined): string | null {
  const time = object(value);
  const seconds = Number(time['seconds']);
  if (!Number.isFinite(seconds)) return null;
  return new Date(seconds * 1000 + Math.floor(Number(time['nanos'] ?? 0) / 1e6)).toISOString();
}

function closeFact(event: HistoryEvent, at: string | null): CloseFact | undefined {
  const base = { at, result: undefined, failure: null, note: null };
  if (event.workflowExecutionCompletedEventAttributes) {
    return {
      ...base,
      kind: 'completed',
      result: firstValue(event.workflowExecutionCompletedEventAttributes.result),
    };
  }
  if (event.workflowExecutionFailedEventAttributes) {
    return {
      ...base,
      kind: 'failed',
      failure: failureFact(event.workflowExecutionFailedEventAttributes.failure),
    };
  }
  if (event.workflowExecutionCanceledEventAttributes) return { ...base, kind: 'cancelled' };
  if (event.workflowExecutionTimedOutEventAttributes) return { ...base, kind: 'timed-out' };
  if (event.workflowExecutionTerminatedEventAttributes) {
    const a = event.workflowExecutionTerminatedEventAttributes;
    return {
      ...base,
      kind: 'terminated',
      note: `${a.reason || 'no reason given'} (by ${a.identity || 'unknown'})`,
    };
  }
  if (event.workflowExecutionContinuedAsNewEventAttributes) {
    const next = event.workflowExecutionContinuedAsNewEventAttributes.newExecutionRunId ?? '';
    return { ...base, kind: 'continued-as-new', note: `continued as run ${next}` };
  }
  return undefined;
}

/** The innermost cause (what a person must read) with the outermost failure's details. */
export function failureFact(failure: Failure | null | undefined): FailureFact {
  let inner = failure;
  while (inner?.cause) inner = inner.cause;
  const type =
    inner?.applicationFailureInfo?.type ||
    (inner?.timeoutFailureInfo ? 'Timeout' : inner?.canceledFailureInfo ? 'Cancelled' : 'Failure');
  return {
    type,
    message: inner?.message ?? '(no message)',
    details: decodePayloads(failure?.applicationFailureInfo?.details),
  };
}
