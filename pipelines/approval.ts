import { z } from 'zod';
import { durationPattern } from './duration.js';
import type { ApprovalSignature } from './signing.js';

/**
 * Approval policy and the decisions about it (docs/architecture.md decision 5). Everything here is pure and
 * sandbox-safe: the workflow applies it to each incoming decision, so replaying a history re-derives
 * every acceptance and every refusal.
 */
export const approvalPolicySchema = z.strictObject({
  /** Who may approve: ids (`alice`) and roles (`role:risk`, membership from the roles file). */
  approvers: z
    .array(z.string().regex(/^(role:)?[A-Za-z0-9._@-]+$/, 'an id or role:<name>'))
    .min(1)
    .describe('Who may approve: ids (`alice`) and roles (`role:risk`, membership from the roles file).'),
  /** Distinct approvers needed. */
  quorum: z.number().int().min(1).max(20).default(1).describe('Distinct approvers needed.'),
  /** How long the gate waits; a reminder and the escalation go out at half-time. */
  expiresIn: z
    .string()
    .regex(durationPattern, 'a duration such as 30m, 72h or 7d')
    .default('72h')
    .describe('How long the gate waits; a reminder and the escalation go out at half-time.'),
  /** Who hears about it at half-time besides the approvers. */
  escalateTo: z
    .array(z.string())
    .default([])
    .describe('Who hears about it at half-time besides the approvers.'),
  /** What expiry means. Only `reject` is offered: silence never ships a model. */
  onExpiry: z
    .literal('reject')
    .default('reject')
    .describe('What expiry means. Only `reject` is offered: silence never ships a model.'),
  /** The step whose output holds what is approved (a model); default: the gate's first dependency. */
  subject: z
    .string()
    .optional()
    .describe(
      "The step whose output holds what is approved (a model); default: the gate's first dependency.",
    ),
  signed: z
    .boolean()
    .default(false)
    .describe(
      'Require every decision to carry an Ed25519 signature by a key of the approver registered before the run started (`sluice keys create`); an unsigned or badly signed decision is refused and recorded.',
    ),
});
export type ApprovalPolicy = z.output<typeof approvalPolicySchema>;

/** The `approval` signal and `submitApproval` update argument (docs/architecture.md contract). */
export interface ApprovalRequest {
  approver: string;
  decision: 'approve' | 'reject';
  /** The model version the approver has looked at; must match what the gate asks about. */
  modelVersion: string;
  comment?: string;
  /** Ed25519 signature over the decision (`sluice approve` / `sluice sign` make it); see `signing.ts`. */
  signature?: ApprovalSignature;
}

export type ApprovalChannel = 'signal' | 'update';

/** An accepted decision, as it stays in history and in the registry's lineage. */
export interface ApprovalDecision {
  approver: string;
  decision: 'approve' | 'reject';
  comment: string | null;
  at: string;
  modelVersion: string;
  metricsDigest: string;
  channel: ApprovalChannel;
  /** The verified signature, kept so `sluice audit verify` can re-check it offline. */
  signature?: ApprovalSignature;
}

/** A refused attempt: recorded too, with why. */
export interface RefusedApproval {
  approver: string;
  decision: string;
  modelVersion: string;
  at: string;
  channel: ApprovalChannel;
  reason: string;
  /** The key the attempt claimed to be signed with, when it carried a signature. */
  keyId?: string;
}

export type GateState = 'awaiting' | 'approved' | 'rejected' | 'expired';

/** What an approval gate is, while it waits and after. */
export interface ApprovalGateStatus {
  step: string;
  state: GateState;
  policy: ApprovalPolicy;
  /** Resolved eligible approver ids (roles expanded at run start). */
  eligible: string[];
  /** Who may not approve this run: its starter and the pipeline's owner. */
  excluded: string[];
  modelVersion: string;
  metricsDigest: string;
  /** What the approver is shown first: metrics, blessing reasons, model card… (the subject output). */
  subject: unknown;
  openedAt: string;
  deadline: string;
  decisions: ApprovalDecision[];
  refused: RefusedApproval[];
  notices: { at: string; kind: 'reminder' | 'escalation' | 'expired'; to: string[] }[];
}

/** Expand `role:x` entries with the role membership recorded at run start. */
export function eligibleApprovers(policy: ApprovalPolicy, roles: Record<string, string[]>): string[] {
  const ids = policy.approvers.flatMap((entry) =>
    entry.startsWith('role:') ? (roles[entry.slice(5)] ?? []) : [entry],
  );
  return [...new Set(ids)].sort();
}

/**
 * Whether a decision may be accepted, and if not, why — in words that name the person, the run's
 * model version and the fix.
 */
export function refusalReason(
  gate: Pick<
    ApprovalGateStatus,
    'state' | 'eligible' | 'excluded' | 'modelVersion' | 'decisions' | 'deadline' | 'policy'
  >,
  request: ApprovalRequest,
  now: number,
  context: { startedBy: string; owner: string | undefined },
): string | undefined {
  if (gate.state === 'expired' || now >= Date.parse(gate.deadline)) {
    return `the approval window closed at ${gate.deadline}`;
  }
  if (gate.state !== 'awaiting') return `the approval gate is already ${gate.state}`;
  if (request.decision !== 'approve' && request.decision !== 'reject') {
    return `decision must be approve or reject, got "${String(request.decision)}"`;
  }
  if (typeof request.approver !== 'string' || request.approver === '')
    return 'the decision names no approver';
  if (request.modelVersion !== gate.modelVersion) {
    return `${request.approver} decided on model version ${String(request.modelVersion)}, but this run asks about ${gate.modelVersion}: look at the current candidate and decide again`;
  }
  if (request.approver === context.startedBy) {
    return `${request.approver} started this run and may not approve it (separation of duties)`;
  }
  if (context.owner !== undefined && request.approver === context.owner) {
    return `${request.approver} owns this pipeline and may not approve its models (separation of duties)`;
  }
  if (!gate.eligible.includes(request.approver)) {
    return `${request.approver} is not an approver of this gate: it accepts ${gate.policy.approvers.join(', ')}${gate.eligible.length ? ` (${gate.eligible.join(', ')})` : ' (no one holds those roles)'}`;
  }
  const earlier = gate.decisions.find((d) => d.approver === request.approver);
  if (earlier) return `${request.approver} already decided (${earlier.decision}) at ${earlier.at}`;
  return undefined;
}

/** The gate's state after its accepted decisions: any rejection vetoes; quorum distinct approvals pass. */
export function gateOutcome(decisions: readonly ApprovalDecision[], quorum: number): GateState {
  if (decisions.some((d) => d.decision === 'reject')) return 'rejected';
  const approvers = new Set(decisions.filter((d) => d.decision === 'approve').map((d) => d.approver));
  return approvers.size >= quorum ? 'approved' : 'awaiting';
}
