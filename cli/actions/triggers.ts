import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { loadPipeline } from '../../pipelines/catalog.js';
import { parseDuration } from '../../pipelines/duration.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { parseParamFlags, resolveRunParams } from '../../pipelines/params.js';
import { connectClient } from '../client.js';
import { context } from '../commands/shared.js';
import { table } from '../output.js';
import { runStart, triggerOnData } from '../runs.js';

export interface TriggerOptions {
  event: string;
  data: string;
  param: string[];
}

/**
 * `sluice trigger`: start a pipeline because new data arrived. The run id is derived from the pipeline
 * and the data's content hash, so the same data triggers one run however often it is announced.
 */
export async function triggerAction(ref: string, options: TriggerOptions, command: Command): Promise<void> {
  const { config, out } = context(command);
  const spec = await loadPipeline(ref);
  const client = await connectClient(config);
  try {
    const result = await triggerOnData(client, config, spec, {
      event: options.event,
      data: options.data,
      params: parseParamFlags(options.param),
      startedBy: `event:${options.event}`,
    });
    out.result(result, () =>
      result.started
        ? `started ${result.workflowId} for event ${options.event} (data ${result.dataSha256.slice(0, 12)})`
        : `already triggered by the same data: ${result.workflowId} (${result.status.toLowerCase()}); nothing started`,
    );
  } finally {
    await client.connection.close();
  }
}

export interface ScheduleCreateOptions {
  cron?: string;
  every?: string;
  param: string[];
}

const scheduleId = (pipeline: string) => `sluice-${pipeline}`;

/** `sluice schedule create`: a Temporal Schedule that starts the pipeline, recorded as trigger `schedule`. */
export async function scheduleCreateAction(
  ref: string,
  options: ScheduleCreateOptions,
  command: Command,
): Promise<void> {
  const { config, out } = context(command);
  if ((options.cron === undefined) === (options.every === undefined)) {
    throw new InvalidInputError('give exactly one of --cron <expression> and --every <duration>');
  }
  const spec = await loadPipeline(ref);
  const runParams = resolveRunParams(spec, parseParamFlags(options.param));
  const id = scheduleId(spec.id);
  const { input, searchAttributes } = await runStart(config, spec, {
    runParams,
    trigger: 'schedule',
    startedBy: `schedule:${id}`,
  });
  const every = options.every === undefined ? undefined : parseDuration(options.every, '--every');
  if (every !== undefined && every < 1000)
    throw new InvalidInputError(`--every ${options.every} is too short: at least 1s`);
  const client = await connectClient(config);
  try {
    await client.schedule.create({
      scheduleId: id,
      spec: options.cron ? { cronExpressions: [options.cron] } : { intervals: [{ every: every ?? 0 }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'dagWorkflow',
        workflowId: `${spec.id}-scheduled`,
        taskQueue: config.taskQueues.orchestration,
        args: [input],
        typedSearchAttributes: searchAttributes,
      },
      policies: { overlap: 'SKIP' },
    });
    out.result(
      { scheduleId: id, pipeline: spec.id, cron: options.cron ?? null, every: options.every ?? null },
      () =>
        `created schedule ${id}: ${spec.id} ${options.cron ? `on cron "${options.cron}"` : `every ${options.every}`} (overlapping runs are skipped)`,
    );
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) {
      throw new InvalidInputError(
        `schedule ${id} already exists: delete it first with \`sluice schedule delete ${spec.id}\``,
      );
    }
    throw error;
  } finally {
    await client.connection.close();
  }
}

/** `sluice schedule list`. */
export async function scheduleListAction(command: Command): Promise<void> {
  const { config, out } = context(command);
  const client = await connectClient(config);
  try {
    const rows: Record<string, string>[] = [];
    for await (const schedule of client.schedule.list()) {
      if (!schedule.scheduleId.startsWith('sluice-')) continue;
      rows.push({
        scheduleId: schedule.scheduleId,
        paused: String(schedule.state.paused),
        next: schedule.info.nextActionTimes[0]?.toISOString() ?? '',
        recent: schedule.info.recentActions.at(-1)?.takenAt.toISOString() ?? '',
      });
    }
    out.result({ schedules: rows }, () =>
      rows.length
        ? table([
            ['schedule', 'paused', 'next', 'last'],
            ...rows.map((r) => [r['scheduleId']!, r['paused']!, r['next']!, r['recent']!]),
          ])
        : 'no Sluice schedules',
    );
  } finally {
    await client.connection.close();
  }
}

export type ScheduleVerb = 'pause' | 'unpause' | 'delete' | 'backfill';

/** `sluice schedule pause|unpause|delete|backfill <pipeline>`. */
export async function scheduleVerbAction(
  verb: ScheduleVerb,
  pipeline: string,
  options: { from?: string; to?: string; note?: string },
  command: Command,
): Promise<void> {
  const { config, out } = context(command);
  const client = await connectClient(config);
  const id = scheduleId(pipeline);
  try {
    await withSchedule(client, id, async (handle) => {
      switch (verb) {
        case 'pause':
          return handle.pause(options.note ?? 'paused with sluice');
        case 'unpause':
          return handle.unpause(options.note ?? 'unpaused with sluice');
        case 'delete':
          return handle.delete();
        case 'backfill': {
          const start = new Date(options.from ?? '');
          const end = new Date(options.to ?? '');
          if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end <= start) {
            throw new InvalidInputError(
              'backfill needs --from and --to as ISO times, with --to after --from',
            );
          }
          return handle.backfill({ start, end, overlap: 'ALLOW_ALL' });
        }
      }
    });
    out.result({ scheduleId: id, done: verb }, () => `${verb}: schedule ${id}`);
  } finally {
    await client.connection.close();
  }
}

async function withSchedule(
  client: Client,
  id: string,
  fn: (handle: ReturnType<Client['schedule']['getHandle']>) => Promise<void>,
): Promise<void> {
  try {
    await fn(client.schedule.getHandle(id));
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) {
      throw new InvalidInputError(`no schedule ${id}: list them with \`sluice schedule list\``);
    }
    throw error;
  }
}
