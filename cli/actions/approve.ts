import type { Command } from 'commander';
import { connectClient } from '../../client/connect.js';
import { context } from '../commands/shared.js';
import { submitDecision } from '../../client/approvals.js';

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
    const comment = options.comment ?? options.reason;
    const outcome = await submitDecision(client, config.temporal.namespace, runId, {
      approver: options.as,
      decision,
      ...(options.modelVersion ? { modelVersion: options.modelVersion } : {}),
      ...(comment ? { comment } : {}),
      ...(options.signal ? { signal: true } : {}),
    });
    if (outcome.sent === 'signal') {
      out.result(
        { sent: 'signal', request: outcome.request },
        () =>
          `sent ${decision} by ${options.as} for model version ${outcome.request.modelVersion} as a signal; ` +
          'it is checked against the policy when the run reads it (see `sluice status`)',
      );
      return;
    }
    const { recorded, gate } = outcome;
    const approvals = gate?.decisions.filter((d) => d.decision === 'approve').length ?? 0;
    out.result(
      { recorded, gate },
      () =>
        `recorded: ${recorded.approver} ${decision === 'approve' ? 'approved' : 'rejected'} model version ${recorded.modelVersion}` +
        ` (${approvals} of ${gate?.policy.quorum ?? '?'} approvals; gate ${gate?.state ?? 'unknown'})`,
    );
  } finally {
    await client.connection.close();
  }
}
