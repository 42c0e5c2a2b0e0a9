import * as wf from '@temporalio/workflow';
import {
  eligibleApprovers,
  gateOutcome,
  refusalReason,
  type ApprovalChannel,
  type ApprovalDecision,
  type ApprovalGateStatus,
  type ApprovalPolicy,
  type ApprovalRequest,
  type RefusedApproval,
} from '../pipelines/approval.js';
import { digestJson } from '../pipelines/digest.js';
import { parseDuration } from '../pipelines/duration.js';
import type { JsonValue } from '../pipelines/json.js';
import { SluiceApproval } from '../pipelines/search-attributes.js';
import { asSignature, signatureRefusal, type ApproverKey } from '../pipelines/signing.js';
import type { NotifyApprovers } from '../activities/notify.js';

/** Any Temporal client can send it, even while no worker runs (docs/architecture.md contract). */
export const approvalSignal = wf.defineSignal<[ApprovalRequest]>('approval');
/** For callers that want an immediate answer: accepted with the recorded decision, or refused with why. */
export const submitApprovalUpdate = wf.defineUpdate<ApprovalDecision, [ApprovalRequest]>('submitApproval');

export interface ApprovalContext {
  startedBy: string;
  owner: string | undefined;
  /** Role membership recorded at run start, so the decision replays the same way. */
  roles: Record<string, string[]>;
  /** Approvers' public keys recorded at run start: signatures are verified against these only. */
  keys: ApproverKey[];
  taskQueue: string;
  /** Every gate of the run, in order (the status query shows them). */
  gates: ApprovalGateStatus[];
  /** Decisions that arrived while no gate was open. */
  refusedOutsideGate: RefusedApproval[];
}

/**
 * Install the `approval` signal and `submitApproval` update handlers (at workflow start, so early
 * messages are seen and refused with a record) and return `open`, which waits at one gate.
 *
 * Refusals by policy are recorded in the gate and in history. Through the update they are accepted
 * and then failed with the reason, rather than rejected by the validator, because a validator's
 * rejection leaves no trace in history and an auditor must see every refused attempt. The validator
 * refuses at once only what cannot be recorded anywhere useful: a malformed request, or no open gate.
 */
export function approvalGates(ctx: ApprovalContext) {
  const current = () => ctx.gates.find((gate) => gate.state === 'awaiting');
  const info = wf.workflowInfo();
  const notify = wf.proxyActivities<NotifyApprovers>({
    taskQueue: ctx.taskQueue,
    startToCloseTimeout: '1m',
    retry: { maximumAttempts: 5 },
  });

  const decide = (request: ApprovalRequest, channel: ApprovalChannel): ApprovalDecision | RefusedApproval => {
    const at = new Date().toISOString();
    const gate = current() ?? ctx.gates[ctx.gates.length - 1];
    const claimedKey = asSignature(request?.signature)?.keyId;
    const refused = (reason: string): RefusedApproval => ({
      approver: String(request?.approver ?? ''),
      decision: String(request?.decision ?? ''),
      modelVersion: String(request?.modelVersion ?? ''),
      at,
      channel,
      reason,
      ...(claimedKey ? { keyId: claimedKey } : {}),
    });
    if (!gate) {
      const refusal = refused('this run is not waiting for approval');
      ctx.refusedOutsideGate.push(refusal);
      return refusal;
    }
    const reason =
      refusalReason(gate, request, Date.parse(at), ctx) ??
      signatureRefusal(
        {
          workflowId: info.workflowId,
          runId: info.runId,
          step: gate.step,
          modelVersion: gate.modelVersion,
          metricsDigest: gate.metricsDigest,
          required: gate.policy.signed === true,
        },
        request,
        ctx.keys,
        Date.parse(at),
      );
    if (reason) {
      const refusal = refused(reason);
      gate.refused.push(refusal);
      wf.log.warn('approval refused', { ...refusal });
      return refusal;
    }
    const decision: ApprovalDecision = {
      approver: request.approver,
      decision: request.decision,
      comment: request.comment ?? null,
      at,
      modelVersion: gate.modelVersion,
      metricsDigest: gate.metricsDigest,
      channel,
    };
    const signature = asSignature(request.signature);
    if (signature) decision.signature = signature;
    gate.decisions.push(decision);
    gate.state = gateOutcome(gate.decisions, gate.policy.quorum);
    wf.log.info('approval recorded', { ...decision, gate: gate.step, state: gate.state });
    return decision;
  };

  wf.setHandler(approvalSignal, (request) => {
    decide(request, 'signal');
  });
  wf.setHandler(
    submitApprovalUpdate,
    (request) => {
      const result = decide(request, 'update');
      if ('reason' in result) throw wf.ApplicationFailure.nonRetryable(result.reason, 'ApprovalRefused');
      return result;
    },
    {
      validator: (request: ApprovalRequest) => {
        const untrusted = request as Partial<ApprovalRequest> | null;
        if (typeof untrusted !== 'object' || untrusted === null || typeof untrusted.approver !== 'string') {
          throw new Error('an approval needs { approver, decision, modelVersion, comment? }');
        }
        if (!current()) throw new Error('this run is not waiting for approval');
      },
    },
  );

  /** Wait at a gate until quorum, a rejection, or expiry (with a reminder and escalation at half-time). */
  async function open(
    step: string,
    policy: ApprovalPolicy,
    subject: JsonValue | undefined,
  ): Promise<ApprovalGateStatus> {
    const openedAt = Date.now();
    const expiresMs = parseDuration(policy.expiresIn);
    const gate: ApprovalGateStatus = {
      step,
      state: 'awaiting',
      policy,
      eligible: eligibleApprovers(policy, ctx.roles),
      excluded: [...new Set([ctx.startedBy, ...(ctx.owner ? [ctx.owner] : [])])],
      modelVersion: modelVersionOf(subject),
      metricsDigest: digestJson(metricsOf(subject)).slice(0, 16),
      subject: subject ?? null,
      openedAt: new Date(openedAt).toISOString(),
      deadline: new Date(openedAt + expiresMs).toISOString(),
      decisions: [],
      refused: [],
      notices: [],
    };
    ctx.gates.push(gate);
    wf.upsertSearchAttributes([{ key: SluiceApproval, value: 'awaiting' }]);
    wf.log.info('waiting for approval', { step, modelVersion: gate.modelVersion, eligible: gate.eligible });

    const decided = () => gate.state !== 'awaiting';
    if (!(await wf.condition(decided, expiresMs / 2))) {
      const at = new Date().toISOString();
      gate.notices.push({ at, kind: 'reminder', to: gate.eligible });
      if (policy.escalateTo.length > 0) gate.notices.push({ at, kind: 'escalation', to: policy.escalateTo });
      await notify.notifyApprovers({
        step,
        kind: 'reminder',
        to: gate.eligible,
        escalateTo: policy.escalateTo,
        deadline: gate.deadline,
        modelVersion: gate.modelVersion,
      });
      await wf.condition(decided, Math.max(0, openedAt + expiresMs - Date.now()));
    }
    if (!decided()) {
      gate.state = 'expired';
      gate.notices.push({
        at: new Date().toISOString(),
        kind: 'expired',
        to: [...gate.eligible, ...policy.escalateTo],
      });
      await notify.notifyApprovers({
        step,
        kind: 'expired',
        to: gate.eligible,
        escalateTo: policy.escalateTo,
        deadline: gate.deadline,
        modelVersion: gate.modelVersion,
      });
    }
    wf.upsertSearchAttributes([{ key: SluiceApproval, value: gate.state }]);
    return gate;
  }

  return { open };
}

/** What the approver signs: the model's content hash when there is a model, else the subject's digest. */
function modelVersionOf(subject: JsonValue | undefined): string {
  const record = isObject(subject) ? subject : {};
  const model = isObject(record['model']) ? record['model'] : record;
  const sha = model['sha256'];
  return (typeof sha === 'string' ? sha : digestJson(subject ?? null)).slice(0, 16);
}

function metricsOf(subject: JsonValue | undefined): JsonValue {
  return isObject(subject) && subject['metrics'] !== undefined ? subject['metrics'] : (subject ?? null);
}

function isObject(value: unknown): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
