import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client } from '@temporalio/client';
import { InvalidInputError } from '../pipelines/errors.js';
import type { ParamValue } from '../pipelines/params.js';
import type { PipelineSpec } from '../pipelines/spec.js';
import type { SluiceConfig } from '../lib/config.js';
import { runStart } from './runs.js';

/** The Temporal Schedule id of a pipeline's schedule (one per pipeline). */
export const pipelineScheduleId = (pipeline: string): string => `sluice-${pipeline}`;

export interface PipelineScheduleOptions {
  /** A cron expression; exactly one of `cron` and `everyMs`. */
  cron?: string | undefined;
  /** An interval in milliseconds, at least 1 000. */
  everyMs?: number | undefined;
  /** Run parameters, already resolved against the spec. */
  runParams?: Record<string, ParamValue> | undefined;
}

/**
 * Create the Temporal Schedule that starts `spec` (recorded as trigger `schedule`; overlapping runs
 * skipped). The input is made by {@link runStart}, so a scheduled run is the same as a manual one.
 *
 * @throws InvalidInputError when neither or both of cron and interval are given, or it exists already.
 */
export async function createPipelineSchedule(
  client: Client,
  config: SluiceConfig,
  spec: PipelineSpec,
  options: PipelineScheduleOptions,
): Promise<string> {
  if ((options.cron === undefined) === (options.everyMs === undefined)) {
    throw new InvalidInputError('give exactly one of --cron <expression> and --every <duration>');
  }
  if (options.everyMs !== undefined && options.everyMs < 1000) {
    throw new InvalidInputError(`an interval of ${options.everyMs} ms is too short: at least 1s`);
  }
  const id = pipelineScheduleId(spec.id);
  const { input, searchAttributes } = await runStart(config, spec, {
    runParams: options.runParams ?? {},
    trigger: 'schedule',
    startedBy: `schedule:${id}`,
  });
  try {
    await client.schedule.create({
      scheduleId: id,
      spec: options.cron
        ? { cronExpressions: [options.cron] }
        : { intervals: [{ every: options.everyMs ?? 0 }] },
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
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) {
      throw new InvalidInputError(
        `schedule ${id} already exists: delete it first with \`sluice schedule delete ${spec.id}\``,
      );
    }
    throw error;
  }
  return id;
}

export interface ScheduleSummary {
  scheduleId: string;
  paused: boolean;
  /** ISO time of the next action, if any. */
  next: string | null;
  /** ISO time of the latest action, if any. */
  recent: string | null;
}

/** Sluice's pipeline schedules (ids starting `sluice-`). */
export async function listSchedules(client: Client): Promise<ScheduleSummary[]> {
  const rows: ScheduleSummary[] = [];
  for await (const schedule of client.schedule.list()) {
    if (!schedule.scheduleId.startsWith('sluice-')) continue;
    rows.push({
      scheduleId: schedule.scheduleId,
      paused: schedule.state.paused,
      next: schedule.info.nextActionTimes[0]?.toISOString() ?? null,
      recent: schedule.info.recentActions.at(-1)?.takenAt.toISOString() ?? null,
    });
  }
  return rows;
}

export type ScheduleVerb = 'pause' | 'unpause' | 'delete' | 'backfill';

/**
 * Pause, unpause, delete or backfill a pipeline's schedule.
 *
 * @throws InvalidInputError when there is no such schedule, or a backfill's window is not valid.
 */
export async function steerSchedule(
  client: Client,
  pipeline: string,
  verb: ScheduleVerb,
  options: { from?: string | undefined; to?: string | undefined; note?: string | undefined } = {},
): Promise<string> {
  const id = pipelineScheduleId(pipeline);
  const handle = client.schedule.getHandle(id);
  try {
    switch (verb) {
      case 'pause':
        await handle.pause(options.note ?? 'paused with sluice');
        break;
      case 'unpause':
        await handle.unpause(options.note ?? 'unpaused with sluice');
        break;
      case 'delete':
        await handle.delete();
        break;
      case 'backfill': {
        const start = new Date(options.from ?? '');
        const end = new Date(options.to ?? '');
        if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end <= start) {
          throw new InvalidInputError('backfill needs --from and --to as ISO times, with --to after --from');
        }
        await handle.backfill({ start, end, overlap: 'ALLOW_ALL' });
        break;
      }
    }
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) {
      throw new InvalidInputError(`no schedule ${id}: list them with \`sluice schedule list\``);
    }
    throw error;
  }
  return id;
}
