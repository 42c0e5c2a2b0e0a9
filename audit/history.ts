import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import proto from '@temporalio/proto';
import { AuditInputError } from './errors.js';

/** A workflow history as Temporal's protobuf types describe it (events with typed attributes). */
export type History = proto.temporal.api.history.v1.IHistory;
export type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
export type Payload = proto.temporal.api.common.v1.IPayload;

const { EventType } = proto.temporal.api.enums.v1;

/**
 * A history read from a file or fetched from the server, checked to be whole: it starts with
 * `WorkflowExecutionStarted` as event 1 and its event ids run without a gap. Both the Temporal CLI
 * (`temporal workflow show --output json`) and `sluice audit export` write the same JSON format.
 */
export interface LoadedHistory {
  /** Where it came from, as the user named it (a path, or `workflowId` for a fetched history). */
  source: string;
  history: History;
  events: HistoryEvent[];
  workflowType: string;
  /** The workflow id, when the server recorded it in the start event (servers since 1.25 do). */
  workflowId: string;
  /** The run id the server gave this execution (the started event's `originalExecutionRunId`). */
  runId: string;
}

/**
 * Parse history JSON text, refusing with a one-line cause anything that is not a whole history: text
 * that is not JSON (a cut file), JSON that is not `{ events: [...] }`, events Temporal cannot read, a
 * history missing its start event, or one with a gap in its event ids.
 *
 * @throws AuditInputError naming `source` and what is wrong with it.
 */
export function parseHistory(text: string, source: string): LoadedHistory {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const cut = endsEarly(text, (error as Error).message);
    throw new AuditInputError(
      cut
        ? `${source} is truncated: its JSON ends early (${(error as Error).message}); export the history again`
        : `${source} is not a Temporal history: it is not JSON (${(error as Error).message})`,
    );
  }
  const events = isRecord(json) ? json['events'] : undefined;
  if (!Array.isArray(events)) {
    throw new AuditInputError(
      `${source} is not a Temporal history: expected {"events": [...]} as written by \`temporal workflow show --output json\` or \`sluice audit export\``,
    );
  }
  if (events.length === 0) throw new AuditInputError(`${source} is not a Temporal history: it has no events`);
  let history: History;
  try {
    history = historyFromJSON(json);
  } catch (error) {
    throw new AuditInputError(
      `${source} is not a Temporal history: ${(error as Error).message.split('\n')[0] ?? 'unreadable events'}`,
    );
  }
  return checkHistory(history, source);
}

/**
 * Check a history (parsed, or fetched from the server) is whole and say what ran in it.
 *
 * @throws AuditInputError when it does not start with event 1 `WorkflowExecutionStarted` or has a gap.
 */
export function checkHistory(history: History, source: string): LoadedHistory {
  const events = history.events ?? [];
  const first = events[0];
  const started = first?.workflowExecutionStartedEventAttributes;
  if (!first || eventId(first) !== 1 || !started) {
    const what = first ? `event ${eventId(first)} ${eventTypeName(first)}` : 'no event';
    throw new AuditInputError(
      `${source} is truncated: it starts with ${what}, not event 1 WorkflowExecutionStarted; export the whole history`,
    );
  }
  for (let i = 1; i < events.length; i++) {
    const id = eventId(events[i] as HistoryEvent);
    if (id !== i + 1) {
      throw new AuditInputError(
        `${source} is truncated or edited: event ${id} follows event ${i}, where event ${i + 1} belongs`,
      );
    }
  }
  const workflowType = started.workflowType?.name;
  if (!workflowType)
    throw new AuditInputError(`${source} is not a Temporal history: its start names no workflow type`);
  return {
    source,
    history,
    events,
    workflowType,
    workflowId: started.workflowId ?? '',
    runId: started.originalExecutionRunId ?? '',
  };
}

/** The JSON text Temporal's own tools write for a history (2-space indented proto3 JSON). */
export function historyJson(history: History): string {
  return `${historyToJSON(history)}\n`;
}

/** An event's id as a number. */
export function eventId(event: HistoryEvent): number {
  return Number(event.eventId ?? 0);
}

/** `ActivityTaskScheduled` for `EVENT_TYPE_ACTIVITY_TASK_SCHEDULED`: the name people read in the Web UI. */
export function eventTypeName(event: HistoryEvent): string {
  const name = EventType[event.eventType ?? 0] ?? 'EVENT_TYPE_UNSPECIFIED';
  return name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, _sep: string, c: string) => c.toUpperCase());
}

/** The event's time as ISO-8601 UTC (millisecond precision), or `null` when it has none. */
export function eventTime(event: HistoryEvent): string | null {
  const time = event.eventTime;
  if (!time) return null;
  const ms = Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6);
  return new Date(ms).toISOString();
}

/** Events that a workflow's code produced by its commands: what replay compares against. */
export const commandEventTypes: ReadonlySet<number> = new Set([
  EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
  EventType.EVENT_TYPE_TIMER_STARTED,
  EventType.EVENT_TYPE_TIMER_CANCELED,
  EventType.EVENT_TYPE_MARKER_RECORDED,
  EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
  EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
  EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
  EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
  EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
]);

/** Whether `event` is of Temporal's event type `type`. */
export function isEventType(event: HistoryEvent, type: keyof typeof EventType): boolean {
  return event.eventType === EventType[type];
}

/** Whether a JSON parse error is at the very end of the text: the file was cut, not mistyped. */
function endsEarly(text: string, message: string): boolean {
  if (/end of (JSON|data) input|Unterminated/i.test(message)) return true;
  const position = /at position (\d+)/.exec(message)?.[1];
  return position !== undefined && Number(position) >= text.trimEnd().length - 1;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
