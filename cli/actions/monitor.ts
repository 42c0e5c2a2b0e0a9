import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { loadPipeline } from '../../pipelines/catalog.js';
import { parseDuration } from '../../pipelines/duration.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { monitorScheduleId, type MonitorInput } from '../../pipelines/monitor.js';
import { SluiceModel, SluicePipeline } from '../../pipelines/search-attributes.js';
import type { SluiceConfig } from '../../worker/config.js';
import { connectClient } from '../client.js';
import { context } from '../commands/shared.js';

export interface MonitorCreateOptions {
  pipeline: string;
  every: string;
  data?: string;
  onBreach: string;
  psi?: string;
  minAccuracy?: string;
}

/**
 * Create the Temporal Schedule that runs `monitorWorkflow` for a model every `everyMs`
 * (overlapping runs skipped). Shared by `sluice monitor create` and the tests, so both make the same
 * schedule. Returns the schedule id.
 */
export async function createMonitorSchedule(
  client: Client,
  config: SluiceConfig,
  input: MonitorInput,
  everyMs: number,
): Promise<string> {
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

/** `sluice monitor create <model> --pipeline <id> --every 1h [--data <path>]`. */
export async function monitorCreateAction(
  model: string,
  options: MonitorCreateOptions,
  command: Command,
): Promise<void> {
  const { config, out } = context(command);
  if (options.onBreach !== 'retrain' && options.onBreach !== 'alert') {
    throw new InvalidInputError(`--on-breach ${options.onBreach}: use retrain or alert`);
  }
  const every = parseDuration(options.every, '--every');
  if (every < 1000) throw new InvalidInputError(`--every ${options.every} is too short: at least 1s`);
  const spec = await loadPipeline(options.pipeline);
  const input: MonitorInput = {
    model,
    pipeline: spec,
    current: options.data === undefined ? { predictionLog: true } : { source: options.data },
    ...(options.psi === undefined ? {} : { thresholds: { psi: positive(options.psi, '--psi') } }),
    policy: {
      onBreach: options.onBreach,
      ...(options.minAccuracy === undefined
        ? {}
        : { minAccuracy: positive(options.minAccuracy, '--min-accuracy') }),
    },
  };
  const client = await connectClient(config);
  try {
    const scheduleId = await createMonitorSchedule(client, config, input, every);
    out.result(
      { scheduleId, model, pipeline: spec.id, every: options.every, current: input.current },
      () =>
        `created ${scheduleId}: every ${options.every}, ${model} is compared with its training data (${options.data ?? 'the prediction log'}); on a breach: ${options.onBreach}`,
    );
  } finally {
    await client.connection.close();
  }
}

/** `sluice monitor delete <model>`. */
export async function monitorDeleteAction(model: string, command: Command): Promise<void> {
  const { config, out } = context(command);
  const client = await connectClient(config);
  const scheduleId = monitorScheduleId(model);
  try {
    await client.schedule.getHandle(scheduleId).delete();
    out.result({ scheduleId, deleted: true }, () => `deleted ${scheduleId}`);
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) {
      throw new InvalidInputError(`no monitor for ${model}: create one with \`sluice monitor create\``);
    }
    throw error;
  } finally {
    await client.connection.close();
  }
}

function positive(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new InvalidInputError(`${flag} ${text}: a positive number`);
  return value;
}
