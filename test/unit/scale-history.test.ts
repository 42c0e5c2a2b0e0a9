import type { WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { runTimes, sumTimes } from '../../bench/scale/history.js';

const at = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

/** A run's history: a workflow task, then an ingest on `sluice` and a training on `sluice-train`. */
const history = {
  events: [
    { eventId: 2, eventTime: at(1000), workflowTaskScheduledEventAttributes: {} },
    { eventId: 3, eventTime: at(1050), workflowTaskStartedEventAttributes: { scheduledEventId: 2 } },
    {
      eventId: 5,
      eventTime: at(1100),
      activityTaskScheduledEventAttributes: { taskQueue: { name: 'sluice' } },
    },
    {
      eventId: 6,
      eventTime: at(1300),
      activityTaskStartedEventAttributes: { scheduledEventId: 5, identity: 'a' },
    },
    {
      eventId: 7,
      eventTime: at(2300),
      activityTaskCompletedEventAttributes: { scheduledEventId: 5, startedEventId: 6 },
    },
    {
      eventId: 9,
      eventTime: at(2400),
      activityTaskScheduledEventAttributes: { taskQueue: { name: 'sluice-train' } },
    },
    {
      eventId: 10,
      eventTime: at(5400),
      activityTaskStartedEventAttributes: { scheduledEventId: 9, identity: 'b' },
    },
    {
      eventId: 11,
      eventTime: at(9400),
      activityTaskCompletedEventAttributes: { scheduledEventId: 9, startedEventId: 10 },
    },
  ],
};
const handle = { fetchHistory: () => Promise.resolve(history) } as unknown as WorkflowHandle;

describe("the scale bench's reading of a run's history", () => {
  it('splits queue wait and slot time by task queue, and counts activities per worker', async () => {
    const times = await runTimes(handle);
    expect(times).toMatchObject({
      activities: 2,
      activityQueueMs: 3200,
      activityRunMs: 5000,
      workflowTasks: 1,
      workflowQueueMs: 50,
      byWorker: { a: 1, b: 1 },
      byQueue: {
        sluice: { activities: 1, queueMs: 200, runMs: 1000 },
        'sluice-train': { activities: 1, queueMs: 3000, runMs: 4000 },
      },
    });
    expect(sumTimes([times, times]).byQueue['sluice-train']).toEqual({
      activities: 2,
      queueMs: 6000,
      runMs: 8000,
    });
  });
});
