import type { Command } from 'commander';
import { loadPipeline } from '../../pipelines/catalog.js';
import { parseDuration } from '../../pipelines/duration.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { MonitorInput } from '../../pipelines/monitor.js';
import { connectClient } from '../../client/connect.js';
import { createMonitorSchedule, deleteMonitorSchedule } from '../../client/monitors.js';
import { context } from '../commands/shared.js';

export interface MonitorCreateOptions {
  pipeline: string;
  every: string;
  data?: string;
  onBreach: string;
  psi?: string;
  minAccuracy?: string;
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
  try {
    const scheduleId = await deleteMonitorSchedule(client, model);
    out.result({ scheduleId, deleted: true }, () => `deleted ${scheduleId}`);
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
