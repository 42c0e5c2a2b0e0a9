import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { ApprovalDecision, ApprovalGateStatus, ApprovalRequest } from '../pipelines/approval.js';
import { InvalidInputError, PermissionDeniedError } from '../pipelines/errors.js';
import type { ApprovalClaim, ApprovalSignature } from '../pipelines/signing.js';
import type { DagStatus } from '../workflows/index.js';
import { describeRunningRun } from './runs.js';

export interface DecisionInput {
  approver: string;
  decision: 'approve' | 'reject';
  /** The version the approver looked at; needed when no worker can say what the gate waits for. */
  modelVersion?: string;
  comment?: string;
  /** Send as the durable `approval` signal (works with no worker running) instead of the update. */
  signal?: boolean;
  /**
   * Sign the decision here (`sluice approve` with the local key): called with exactly what is signed.
   * Needs the gate's metrics digest, so a worker must answer, or give `metricsDigest` and `gate`.
   */
  sign?: (claim: Omit<ApprovalClaim, 'keyId'>) => ApprovalSignature;
  /** A signature made elsewhere (a browser, `sluice sign`), passed through as it is. */
  signature?: ApprovalSignature;
  /** With no worker: the gate step and the metrics digest shown by `sluice status`, for signing. */
  gate?: string;
  metricsDigest?: string;
  /** Build (and sign) the request, send nothing: {@link signedRequest}. */
  dryRun?: boolean;
}

export type DecisionOutcome =
  | { sent: 'update'; recorded: ApprovalDecision; gate: ApprovalGateStatus | null }
  | { sent: 'signal'; request: ApprovalRequest }
  | { sent: 'none'; request: ApprovalRequest };

/**
 * The `approval` signal argument for a decision, signed, without sending it: what `sluice sign` prints
 * for `temporal workflow signal --input`. Checks the run is waiting like {@link submitDecision}.
 */
export async function signedRequest(
  client: Client,
  namespace: string,
  runId: string,
  input: Omit<DecisionInput, 'signal' | 'dryRun' | 'signature'> & Required<Pick<DecisionInput, 'sign'>>,
): Promise<ApprovalRequest> {
  const outcome = await submitDecision(client, namespace, runId, { ...input, dryRun: true });
  if (outcome.sent !== 'none') throw new Error('a dry run sent a decision');
  return outcome.request;
}

/**
 * One approval decision on a run, for every channel that is not a raw Temporal client (`sluice
 * approve/reject`, `POST /v1/runs/:run/approvals`): answered at once through the `submitApproval`
 * update, or queued as the durable signal when asked or when no worker answers. Either way the gate's
 * policy in workflow code is what accepts or refuses it, so separation of duties holds on all of them.
 *
 * @throws InvalidInputError when the run is finished or not waiting, PermissionDeniedError when the
 *   gate's policy refuses the decision (the refusal is recorded in the run's history).
 */
export async function submitDecision(
  client: Client,
  namespace: string,
  runId: string,
  input: DecisionInput,
): Promise<DecisionOutcome> {
  const handle = client.workflow.getHandle(runId);
  const description = await describeRunningRun(
    handle,
    runId,
    namespace,
    'is finished',
    `there is nothing left to ${input.decision}`,
  );
  const gate = await openGate(client, handle);
  if (gate === 'no-worker' && !input.modelVersion) {
    throw new InvalidInputError(
      `no worker answers for run ${runId}, so Sluice cannot show what you would ${input.decision}: ` +
        'give the model version from `sluice status` (`--model-version`, or `modelVersion` over HTTP) to send the decision as a durable signal',
    );
  }
  if (gate === undefined) {
    throw new InvalidInputError(`run ${runId} is not waiting for approval (stage ${stageOf(description)})`);
  }
  const open = gate === 'no-worker' ? undefined : gate;
  const modelVersion = input.modelVersion ?? (open as ApprovalGateStatus).modelVersion;
  const signature = input.sign
    ? input.sign(
        signedClaim(runId, description.runId, input, modelVersion, open, (what) => {
          throw new InvalidInputError(
            `no worker answers for run ${runId}, so Sluice cannot read the ${what} to sign: give it from \`sluice status\` (--gate, --metrics-digest)`,
          );
        }),
      )
    : input.signature;
  const request: ApprovalRequest = {
    approver: input.approver,
    decision: input.decision,
    modelVersion,
    ...(input.comment ? { comment: input.comment } : {}),
    ...(signature ? { signature } : {}),
  };
  if (input.dryRun) return { sent: 'none', request };
  if (input.signal || gate === 'no-worker') {
    await handle.signal('approval', request);
    return { sent: 'signal', request };
  }
  let recorded: ApprovalDecision;
  try {
    recorded = await handle.executeUpdate<ApprovalDecision, [ApprovalRequest]>('submitApproval', {
      args: [request],
    });
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      throw new PermissionDeniedError(`${input.decision} refused: ${error.cause?.message ?? error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
  const after = (await handle.query<DagStatus>('status')).approvals.find((g) => g.step === gate.step);
  return { sent: 'update', recorded, gate: after ?? null };
}

/** What a decision on `gate` signs: the run, the gate, the model version and metrics, the decision. */
export function signedClaim(
  workflowId: string,
  runId: string,
  input: Pick<DecisionInput, 'approver' | 'decision' | 'comment' | 'gate' | 'metricsDigest'>,
  modelVersion: string,
  gate: Pick<ApprovalGateStatus, 'step' | 'metricsDigest'> | undefined,
  missing: (what: string) => never,
  at = new Date().toISOString(),
): Omit<ApprovalClaim, 'keyId'> {
  return {
    workflowId,
    runId,
    gate: gate?.step ?? input.gate ?? missing('gate step'),
    modelVersion,
    metricsDigest: gate?.metricsDigest ?? input.metricsDigest ?? missing('metrics digest'),
    approver: input.approver,
    decision: input.decision,
    at,
    comment: input.comment ?? null,
  };
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
