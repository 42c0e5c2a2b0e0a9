import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import type { ApprovalDecision, ApprovalGateStatus, ApprovalRequest } from '../../pipelines/approval.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { DagStatus } from '../../workflows/index.js';
import { connectClient } from '../client.js';
import { context } from '../commands/shared.js';
import { describeRunningRun } from './run.js';

export interface DecisionOptions {
  as: string;
  comment?: string;
  reason?: string;
  modelVersion?: string;
  /** Send as the durable `approval` signal (works with no worker running) instead of the update. */
  signal?: boolean;
}

/** `sluice approve` / `sluice reject`: one decision, answered at once (update) or queued (signal). */
export async function decisionAction(
  runId: string,
  decision: 'approve' | 'reject',
  options: DecisionOptions,
  command: Command,
): Promise<void> {
  const { config, out } = context(command);
  const client = await connectClient(config);
  try {
    const handle = client.workflow.getHandle(runId);
    const description = await describeRunningRun(
      handle,
      runId,
      config.temporal.namespace,
      'is finished',
      `there is nothing left to ${decision}`,
    );
    const gate = await openGate(client, handle);
    if (gate === 'no-worker' && !options.modelVersion) {
      throw new InvalidInputError(
        `no worker answers for run ${runId}, so Sluice cannot show what you would ${decision}: ` +
          'pass --model-version <version> (from `sluice status`) to send your decision as a durable signal',
      );
    }
    if (gate === undefined) {
      throw new InvalidInputError(`run ${runId} is not waiting for approval (stage ${stageOf(description)})`);
    }
    const request: ApprovalRequest = {
      approver: options.as,
      decision,
      modelVersion: options.modelVersion ?? (gate as ApprovalGateStatus).modelVersion,
      ...((options.comment ?? options.reason)
        ? { comment: (options.comment ?? options.reason) as string }
        : {}),
    };
    if (options.signal || gate === 'no-worker') {
      await handle.signal('approval', request);
      out.result(
        { sent: 'signal', request },
        () =>
          `sent ${decision} by ${options.as} for model version ${request.modelVersion} as a signal; ` +
          'it is checked against the policy when the run reads it (see `sluice status`)',
      );
      return;
    }
    let recorded: ApprovalDecision;
    try {
      recorded = await handle.executeUpdate<ApprovalDecision, [ApprovalRequest]>('submitApproval', {
        args: [request],
      });
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) {
        throw new InvalidInputError(`${decision} refused: ${error.cause?.message ?? error.message}`);
      }
      throw error;
    }
    const after = (await handle.query<DagStatus>('status')).approvals.find((g) => g.step === gate.step);
    const approvals = after?.decisions.filter((d) => d.decision === 'approve').length ?? 0;
    out.result(
      { recorded, gate: after ?? null },
      () =>
        `recorded: ${recorded.approver} ${decision === 'approve' ? 'approved' : 'rejected'} model version ${recorded.modelVersion}` +
        ` (${approvals} of ${after?.policy.quorum ?? '?'} approvals; gate ${after?.state ?? 'unknown'})`,
    );
  } finally {
    await client.connection.close();
  }
}

/** The gate waiting now; `undefined` when none; `no-worker` when no worker answers the query. */
async function openGate(
  client: Client,
  handle: WorkflowHandle,
): Promise<ApprovalGateStatus | undefined | 'no-worker'> {
  try {
    const status = await client.connection.withDeadline(Date.now() + 5_000, () =>
      handle.query<DagStatus>('status'),
    );
    return status.approvals.find((gate) => gate.state === 'awaiting');
  } catch {
    return 'no-worker';
  }
}

function stageOf(description: { searchAttributes: Record<string, unknown> }): string {
  const stage = description.searchAttributes['SluiceStage'];
  return Array.isArray(stage) && typeof stage[0] === 'string' ? stage[0] : 'unknown';
}
