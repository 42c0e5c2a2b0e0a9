import type { WorkflowHandle } from '@temporalio/client';

/** What one finished run's history says about where its time went, by the server's clock. */
export interface RunTimes {
  /** Activity attempts that started. */
  activities: number;
  /** Sum over activities of scheduled → started: time each waited in its task queue for a worker slot. */
  activityQueueMs: number;
  /** Sum over activities of started → closed: time a worker held a slot for it. */
  activityRunMs: number;
  /** Workflow tasks, and their summed scheduled → started wait. */
  workflowTasks: number;
  workflowQueueMs: number;
  /** Activities started per worker identity (`pid@host`). */
  byWorker: Record<string, number>;
  /** The same activity figures per task queue (`sluice`, `sluice-train`, a custom step's). */
  byQueue: Record<string, QueueTimes>;
}

export interface QueueTimes {
  activities: number;
  queueMs: number;
  runMs: number;
}

type Event = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** An event's time in ms: seconds arrive as a Long from the server (a number in hand-made histories). */
function at(event: Event | undefined): number {
  const time = event?.eventTime;
  if (!time) return Number.NaN;
  const seconds = time.seconds;
  const whole = typeof seconds === 'object' && seconds !== null ? seconds.toNumber() : Number(seconds ?? 0);
  return whole * 1000 + (time.nanos ?? 0) / 1e6;
}

/** Read the schedule-to-start and start-to-close times of a run's activities and workflow tasks. */
export async function runTimes(handle: WorkflowHandle): Promise<RunTimes> {
  const events = (await handle.fetchHistory()).events ?? [];
  const byId = new Map(events.map((event) => [String(event.eventId), event]));
  const times: RunTimes = {
    activities: 0,
    activityQueueMs: 0,
    activityRunMs: 0,
    workflowTasks: 0,
    workflowQueueMs: 0,
    byWorker: {},
    byQueue: {},
  };
  const queueOf = (scheduledEventId: unknown) =>
    byId.get(String(scheduledEventId))?.activityTaskScheduledEventAttributes?.taskQueue?.name ?? 'unknown';
  const queue = (name: string) => (times.byQueue[name] ??= { activities: 0, queueMs: 0, runMs: 0 });
  for (const event of events) {
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const waited = at(event) - at(byId.get(String(started.scheduledEventId)));
      times.activities += 1;
      times.activityQueueMs += waited;
      const q = queue(queueOf(started.scheduledEventId));
      q.activities += 1;
      q.queueMs += waited;
      const worker = started.identity ?? 'unknown';
      times.byWorker[worker] = (times.byWorker[worker] ?? 0) + 1;
    }
    const closed =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes;
    if (closed?.startedEventId) {
      const ran = at(event) - at(byId.get(String(closed.startedEventId)));
      times.activityRunMs += ran;
      queue(queueOf(closed.scheduledEventId)).runMs += ran;
    }
    const workflowTask = event.workflowTaskStartedEventAttributes;
    if (workflowTask) {
      times.workflowTasks += 1;
      times.workflowQueueMs += at(event) - at(byId.get(String(workflowTask.scheduledEventId)));
    }
  }
  return times;
}

/** Several runs' times added up (the per-worker counts merged). */
export function sumTimes(all: readonly RunTimes[]): RunTimes {
  const total: RunTimes = {
    activities: 0,
    activityQueueMs: 0,
    activityRunMs: 0,
    workflowTasks: 0,
    workflowQueueMs: 0,
    byWorker: {},
    byQueue: {},
  };
  for (const t of all) {
    total.activities += t.activities;
    total.activityQueueMs += t.activityQueueMs;
    total.activityRunMs += t.activityRunMs;
    total.workflowTasks += t.workflowTasks;
    total.workflowQueueMs += t.workflowQueueMs;
    for (const [worker, n] of Object.entries(t.byWorker))
      total.byWorker[worker] = (total.byWorker[worker] ?? 0) + n;
    for (const [name, q] of Object.entries(t.byQueue)) {
      const sum = (total.byQueue[name] ??= { activities: 0, queueMs: 0, runMs: 0 });
      sum.activities += q.activities;
      sum.queueMs += q.queueMs;
      sum.runMs += q.runMs;
    }
  }
  return total;
}
