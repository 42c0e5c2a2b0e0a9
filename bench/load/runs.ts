import type { Client, WorkflowHandle } from '@temporalio/client';
import { startRun } from '../../client/runs.js';
import type { ApprovalRequest } from '../../pipelines/approval.js';
import type { PipelineSpec } from '../../pipelines/spec.js';
import type { SluiceConfig } from '../../lib/config.js';
import type { dagWorkflow, DagStatus, RunState } from '../../workflows/index.js';
import { percentile } from '../harness.js';
import { approver, starter } from './pipelines.js';

export type RunHandle = WorkflowHandle<typeof dagWorkflow>;

/** How one run ended, seen by the client: its final status, a failure, or still open at the deadline. */
export interface RunOutcome {
  /** From `t0` (before the start, or before the approval was sent) to the result; NaN if none. */
  ms: number;
  /** The run's final state, `failed` (the workflow failed) or `timeout` (still open at the deadline). */
  end: RunState | 'failed' | 'timeout';
  status?: DagStatus;
  error?: string;
}

/** Start a run the way `sluice run` does. */
export function start(client: Client, config: SluiceConfig, spec: PipelineSpec): Promise<RunHandle> {
  return startRun(client, config, spec, { runParams: {}, startedBy: starter });
}

/** Wait for a run's result until `deadline` (epoch ms); never throws. */
export async function outcome(handle: RunHandle, t0: number, deadline: number): Promise<RunOutcome> {
  const result = handle.result();
  result.catch(() => undefined); // a run still open at the deadline: its long poll ends with the client
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()));
  });
  try {
    const status = await Promise.race([result, late]);
    if (status === 'timeout') return { ms: Number.NaN, end: 'timeout' };
    return { ms: performance.now() - t0, end: status.state, status };
  } catch (error) {
    return { ms: Number.NaN, end: 'failed', error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** The model version a run's open gate asks about, read from its status as `sluice approve` does. */
export async function gateVersion(handle: RunHandle): Promise<string> {
  const status = await handle.query<DagStatus>('status');
  const gate = status.approvals.find((g) => g.state === 'awaiting');
  if (!gate) throw new Error(`run ${handle.workflowId} is not waiting at a gate (state ${status.state})`);
  return gate.modelVersion;
}

export type Channel = 'signal' | 'update';

/** Send one approval through the `approval` signal or the `submitApproval` update. */
export async function approve(handle: RunHandle, modelVersion: string, channel: Channel): Promise<void> {
  const request: ApprovalRequest = { approver, decision: 'approve', modelVersion, comment: 'load bench' };
  if (channel === 'signal') await handle.signal('approval', request);
  else await handle.executeUpdate('submitApproval', { args: [request] });
}

/** The run ended approved: gate approved through `channel`, every step done. */
export function endedApproved(o: RunOutcome, channel: Channel): boolean {
  const gate = o.status?.approvals[0];
  return (
    o.end === 'succeeded' &&
    gate?.state === 'approved' &&
    gate.decisions.length === 1 &&
    gate.decisions[0]?.channel === channel
  );
}

/** p50 / p95 / max of the finite durations. */
export function spread(outcomes: readonly RunOutcome[]): { p50_ms: number; p95_ms: number; max_ms: number } {
  const ms = outcomes.map((o) => o.ms).filter(Number.isFinite);
  return {
    p50_ms: percentile(ms, 50),
    p95_ms: percentile(ms, 95),
    max_ms: ms.length ? Math.max(...ms) : Number.NaN,
  };
}

/** How many outcomes ended each way: `{ succeeded: 199, timeout: 1 }`. */
export function ends(outcomes: readonly RunOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o.end] = (counts[o.end] ?? 0) + 1;
  return counts;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
