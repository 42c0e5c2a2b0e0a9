import type { Client } from '@temporalio/client';
import { InvalidInputError } from '../pipelines/errors.js';
import type { DagStatus } from '../workflows/index.js';
import { describeRun, describeRunningRun } from './runs.js';

/** What `status` knows of a run: the server's view, plus the workflow's own status when a worker answers. */
export interface RunReport {
  workflowId: string;
  /** Temporal's execution status name (`RUNNING`, `COMPLETED`, …). */
  temporalState: string;
  startTime: Date;
  closeTime: Date | null;
  /** The run's status query; `null` when no worker answered within five seconds. */
  status: DagStatus | null;
}

/**
 * A run's status, as `sluice status` and the HTTP API show it.
 *
 * @throws InvalidInputError when there is no such run.
 */
export async function runReport(client: Client, namespace: string, runId: string): Promise<RunReport> {
  const handle = client.workflow.getHandle(runId);
  const description = await describeRun(handle, runId, namespace);
  let status: DagStatus | null = null;
  try {
    status = await client.connection.withDeadline(Date.now() + 5_000, () =>
      handle.query<DagStatus>('status'),
    );
  } catch {
    // no worker to answer the query right now: report what the server knows
  }
  return {
    workflowId: runId,
    temporalState: description.status.name,
    startTime: description.startTime,
    closeTime: description.closeTime ?? null,
    status,
  };
}

export interface RunFilter {
  /** Only runs waiting at an approval gate. */
  awaitingApproval?: boolean | undefined;
  pipeline?: string | undefined;
  model?: string | undefined;
  /** At most this many runs, newest first (default 20). */
  limit?: number | undefined;
}

/** One run as the visibility store lists it (Sluice's search attributes). */
export interface RunSummary {
  workflowId: string;
  pipeline: string | null;
  status: string;
  stage: string | null;
  approval: string | null;
  trigger: string | null;
  startTime: string;
}

/** The visibility query for a filter (exposed so callers can show what was asked). */
export function runsQuery(filter: RunFilter): string {
  const clauses = [`WorkflowType = 'dagWorkflow'`];
  if (filter.awaitingApproval) clauses.push(`SluiceApproval = 'awaiting'`, `ExecutionStatus = 'Running'`);
  if (filter.pipeline) clauses.push(`SluicePipeline = ${quote(filter.pipeline)}`);
  if (filter.model) clauses.push(`SluiceModel = ${quote(filter.model)}`);
  return clauses.join(' AND ');
}

/**
 * Recent runs through a visibility query on Sluice's search attributes.
 *
 * @throws InvalidInputError when the limit is not a positive integer.
 */
export async function listRuns(client: Client, filter: RunFilter = {}): Promise<RunSummary[]> {
  const limit = filter.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new InvalidInputError(`the limit must be a positive integer, got "${limit}"`);
  }
  const runs: RunSummary[] = [];
  for await (const run of client.workflow.list({ query: runsQuery(filter) })) {
    const attr = (name: string) => {
      const value = run.searchAttributes[name];
      return Array.isArray(value) && value.length > 0 ? String(value[0]) : null;
    };
    runs.push({
      workflowId: run.workflowId,
      pipeline: attr('SluicePipeline'),
      status: run.status.name,
      stage: attr('SluiceStage'),
      approval: attr('SluiceApproval'),
      trigger: attr('SluiceTrigger'),
      startTime: run.startTime.toISOString(),
    });
    if (runs.length >= limit) break;
  }
  return runs;
}

/**
 * Request cancellation of a running run: running steps are cancelled, the run ends `cancelled`.
 *
 * @throws InvalidInputError when the run does not exist or is finished.
 */
export async function cancelRun(client: Client, namespace: string, runId: string): Promise<void> {
  const handle = client.workflow.getHandle(runId);
  await describeRunningRun(handle, runId, namespace, 'is already finished', 'nothing to cancel');
  await handle.cancel();
}

function quote(value: string): string {
  return `'${value.replaceAll("'", "\\'")}'`;
}
