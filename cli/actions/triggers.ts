import type { Command } from 'commander';
import { loadPipeline } from '../../pipelines/catalog.js';
import { parseDuration } from '../../pipelines/duration.js';
import { parseParamFlags, resolveRunParams } from '../../pipelines/params.js';
import { connectClient } from '../../client/connect.js';
import { context } from '../commands/shared.js';
import { table } from '../output.js';
import { triggerOnData } from '../../client/runs.js';
import {
  createPipelineSchedule,
  listSchedules,
  steerSchedule,
  type ScheduleVerb,
} from '../../client/schedules.js';

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

/** `sluice schedule create`: a Temporal Schedule that starts the pipeline, recorded as trigger `schedule`. */
export async function scheduleCreateAction(
  ref: string,
  options: ScheduleCreateOptions,
  command: Command,
): Promise<void> {
  const { config, out } = context(command);
  const spec = await loadPipeline(ref);
  const runParams = resolveRunParams(spec, parseParamFlags(options.param));
  const everyMs = options.every === undefined ? undefined : parseDuration(options.every, '--every');
  const client = await connectClient(config);
  try {
    const id = await createPipelineSchedule(client, config, spec, { cron: options.cron, everyMs, runParams });
    out.result(
      { scheduleId: id, pipeline: spec.id, cron: options.cron ?? null, every: options.every ?? null },
      () =>
        `created schedule ${id}: ${spec.id} ${options.cron ? `on cron "${options.cron}"` : `every ${options.every}`} (overlapping runs are skipped)`,
    );
  } finally {
    await client.connection.close();
  }
}

/** `sluice schedule list`. */
export async function scheduleListAction(command: Command): Promise<void> {
  const { config, out } = context(command);
  const client = await connectClient(config);
  try {
    const rows = await listSchedules(client);
    out.result({ schedules: rows }, () =>
      rows.length
        ? table([
            ['schedule', 'paused', 'next', 'last'],
            ...rows.map((r) => [r.scheduleId, String(r.paused), r.next ?? '', r.recent ?? '']),
          ])
        : 'no Sluice schedules',
    );
  } finally {
    await client.connection.close();
  }
}

/** `sluice schedule pause|unpause|delete|backfill <pipeline>`. */
export async function scheduleVerbAction(
  verb: ScheduleVerb,
  pipeline: string,
  options: { from?: string; to?: string; note?: string },
  command: Command,
): Promise<void> {
  const { config, out } = context(command);
  const client = await connectClient(config);
  try {
    const id = await steerSchedule(client, pipeline, verb, options);
    out.result({ scheduleId: id, done: verb }, () => `${verb}: schedule ${id}`);
  } finally {
    await client.connection.close();
  }
}
