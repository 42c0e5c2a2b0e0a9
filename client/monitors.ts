import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client } from '@temporalio/client';
import { InvalidInputError } from '../pipelines/errors.js';
import { monitorScheduleId, type MonitorInput } from '../pipelines/monitor.js';
import { SluiceModel, SluicePipeline } from '../pipelines/search-attributes.js';
import type { SluiceConfig } from '../lib/config.js';

/**
 * Create the Temporal Schedule that runs `monitorWorkflow` for a model every `everyMs`
 * (overlapping runs skipped). Shared by `sluice monitor create`, the client API and the tests, so all
 * make the same schedule. Returns the schedule id.
 *
 * @throws InvalidInputError when the model has a monitor already.
 */
export async function createMonitorSchedule(
  client: Client,
  config: SluiceConfig,
  input: MonitorInput,
  everyMs: number,
): Promise<string> {
  if (everyMs < 1000) throw new InvalidInputError(`a monitor every ${everyMs} ms is too often: at least 1s`);
  const scheduleId = monitorScheduleId(input.model);
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: everyMs }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'monitorWorkflow',
        workflowId: `monitor-${input.model}`,
        taskQueue: config.taskQueues.orchestration,
        args: [input],
        typedSearchAttributes: [
          { key: SluiceModel, value: input.model },
          { key: SluicePipeline, value: input.pipeline.id },
        ],
      },
      policies: { overlap: 'SKIP' },
    });
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) {
      throw new InvalidInputError(
        `the monitor of ${input.model} exists already: delete it first with \`sluice monitor delete ${input.model}\``,
      );
    }
    throw error;
  }
  return scheduleId;
}

/**
 * Delete a model's monitor schedule.
 *
 * @throws InvalidInputError when the model has none.
 */
export async function deleteMonitorSchedule(client: Client, model: string): Promise<string> {
  const scheduleId = monitorScheduleId(model);
  try {
    await client.schedule.getHandle(scheduleId).delete();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) {
      throw new InvalidInputError(`no monitor for ${model}: create one with \`sluice monitor create\``);
    }
    throw error;
  }
  return scheduleId;
}
