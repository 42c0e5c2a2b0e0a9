import type { Client } from '@temporalio/client';
import type { DagStatus } from '../workflows/index.js';
import {
  runsLimit,
  runsQuery,
  runSummary,
  statusQueryMs,
  type RunFilter,
  type RunReport,
  type RunSummary,
} from './run-views.js';
import { describeRun, describeRunningRun } from './runs.js';

export { runsQuery, type RunFilter, type RunReport, type RunSummary } from './run-views.js';

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
    status = await client.connection.withDeadline(Date.now() + statusQueryMs, () =>
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

/**
 * Recent runs through a visibility query on Sluice's search attributes.
 *
 * @throws InvalidInputError when the limit is not a positive integer.
 */
export async function listRuns(client: Client, filter: RunFilter = {}): Promise<RunSummary[]> {
  const limit = runsLimit(filter);
  const runs: RunSummary[] = [];
  for await (const run of client.workflow.list({ query: runsQuery(filter) })) {
    runs.push(runSummary(run.workflowId, run.status.name, run.startTime, run.searchAttributes));
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
