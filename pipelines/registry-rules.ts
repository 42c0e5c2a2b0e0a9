import type { JsonObject } from './json.js';
import {
  maxMetricsChars,
  promoterRole,
  type Authority,
  type ModelVersion,
  type PromoteInput,
  type PromoteResult,
  type RefusedEvent,
  type RegisterVersionInput,
  type RegisterVersionResult,
  type RegistryAliases,
  type RegistryDescription,
  type RegistryEvent,
  type RegistryMemo,
  type RegistryTraffic,
  type RegistryState,
  type RollbackInput,
  type RollbackResult,
} from './registry.js';

/**
 * The registry's rules, pure and sandbox-safe: the workflow applies them to each update, so replaying
 * its history re-derives every version number, alias move and refusal (docs/architecture.md decision 4). The
 * `...Problem` functions are the update validators' checks: they read state and never change it.
 * The `apply...` functions change state and record every outcome in the event log.
 */

/** An outcome the registry refused: recorded in the event log, then reported to the caller. */
export type Refused = { refused: string };

/** Whether an `apply...` outcome is a refusal. */
export function isRefused<T extends object>(outcome: T | Refused): outcome is Refused {
  return 'refused' in outcome && typeof outcome.refused === 'string';
}

const sha256Pattern = /^[0-9a-f]{64}$/;

/** A registry with no versions yet. */
export function emptyRegistry(model: string): RegistryState {
  return {
    model,
    versions: [],
    aliases: { candidate: null, production: null, previous: null },
    events: [],
  };
}

/**
 * Why a registration request is malformed or conflicts with an earlier one with the same `requestId`;
 * `undefined` when it may go ahead. A repeated request with the same model is fine: it is idempotent.
 */
export function registerProblem(state: RegistryState, input: RegisterVersionInput): string | undefined {
  const what = `registering a version of model "${state.model}"`;
  if (!isObject(input)) return `${what} needs a lineage object`;
  for (const field of ['requestId', 'runId', 'workflowId', 'pipeline', 'registeredBy'] as const) {
    if (!isText(input[field])) return `${what} needs ${field} (a non-empty string)`;
  }
  const model: unknown = input.model;
  if (!isObject(model) || !isSha(model['sha256']) || !isText(model['uri'])) {
    return `${what} needs model { uri, sha256 } with a 64-hex sha256, as the store's ModelRef has`;
  }
  if (!Array.isArray(input.dataSha256s) || !input.dataSha256s.every(isSha)) {
    return `${what} needs dataSha256s, the 64-hex sha256 of each dataset it came from`;
  }
  if (!isObject(input.metrics)) return `${what} needs metrics as a JSON object (use {} when there are none)`;
  const metricsChars = JSON.stringify(input.metrics).length;
  if (metricsChars > maxMetricsChars) {
    return `${what}: metrics are ${metricsChars} characters of JSON, more than ${maxMetricsChars}: keep headline figures and leave the full evaluation in the artifact store`;
  }
  if (!Array.isArray(input.approvals)) return `${what} needs approvals (an array, empty when none)`;
  for (const [i, approval] of input.approvals.entries()) {
    const record: unknown = approval;
    if (
      !isObject(record) ||
      !isText(record['approver']) ||
      (record['decision'] !== 'approve' && record['decision'] !== 'reject') ||
      !isText(record['at'])
    ) {
      return `${what}: approvals[${i}] needs approver, decision (approve|reject) and at, as the approval gate records them`;
    }
  }
  const earlier = state.versions.find((v) => v.requestId === input.requestId);
  if (earlier && earlier.model.sha256 !== input.model.sha256) {
    return `request ${input.requestId} already registered model "${state.model}" v${earlier.version} with model ${earlier.model.sha256.slice(0, 12)}, not ${input.model.sha256.slice(0, 12)}: a different model needs its own request id`;
  }
  return undefined;
}

/**
 * Register a version (the next number) and make it the candidate; a repeated `requestId` returns the
 * version it registered before and changes nothing.
 */
export function applyRegister(
  state: RegistryState,
  input: RegisterVersionInput,
  at: string,
): RegisterVersionResult {
  const earlier = state.versions.find((v) => v.requestId === input.requestId);
  if (earlier) return { version: earlier.version, created: false };
  const version = state.versions.length + 1;
  state.versions.push({
    version,
    requestId: input.requestId,
    runId: input.runId,
    workflowId: input.workflowId,
    pipeline: input.pipeline,
    dataSha256s: [...input.dataSha256s],
    model: {
      uri: input.model.uri,
      sha256: input.model.sha256,
      kind: input.model.kind,
      format: input.model.format,
      bytes: input.model.bytes,
    },
    metrics: input.metrics,
    approvals: input.approvals.map((a) => ({ ...a })),
    registeredAt: at,
    registeredBy: input.registeredBy,
  });
  state.aliases.candidate = version;
  resetTraffic(state);
  append(state, {
    type: 'registered',
    at,
    by: input.registeredBy,
    version,
    requestId: input.requestId,
    workflowId: input.workflowId,
    runId: input.runId,
  });
  return { version, created: true };
}

/** Why a promotion request is malformed (the validator's check); policy refusals come later, recorded. */
export function promoteRequestProblem(model: string, input: PromoteInput): string | undefined {
  if (!isObject(input)) return `promoting model "${model}" needs { version, by, reason, authorisedBy }`;
  const problem = actorProblem(model, 'promote', input);
  if (problem) return problem;
  if (!Number.isInteger(input.version) || input.version < 1) {
    return `${input.by} asked to promote model "${model}" version ${JSON.stringify(input.version) ?? 'undefined'}: a version is a whole number from 1`;
  }
  if (input.approvedRun !== undefined && !isText(input.approvedRun)) {
    return `${input.by} named an empty approved run for model "${model}" v${input.version}: give the run's workflow id`;
  }
  return undefined;
}

/**
 * Why the version's own run does not authorise this action (another run named, or the run not
 * approved), or `undefined` when it does.
 */
export function approvedRunRefusal(
  model: string,
  action: string,
  target: ModelVersion,
  input: { by: string; version: number; approvedRun?: string | undefined },
  fix: string,
): string | undefined {
  const run = target.workflowId;
  if (input.approvedRun !== undefined && input.approvedRun !== run && input.approvedRun !== target.runId) {
    return `${input.by} cannot ${action} model "${model}" v${input.version} on the strength of run ${input.approvedRun}: v${input.version} came from run ${run}`;
  }
  const shortfall = approvalShortfall(target);
  if (shortfall) {
    return `${input.by} cannot ${action} model "${model}" v${input.version} without approval: its run ${run} ${shortfall}; ${fix}`;
  }
  return undefined;
}

/** Why the registry refuses this promotion, or `undefined` when it is allowed. */
export function promoteRefusal(state: RegistryState, input: PromoteInput): string | undefined {
  const { model } = state;
  const target = state.versions.find((v) => v.version === input.version);
  if (!target) {
    const known = state.versions.length ? `versions 1-${state.versions.length}` : 'no versions yet';
    return `${input.by} cannot promote model "${model}" v${input.version}: there is no such version (${known}); pick one from \`sluice models ${model}\``;
  }
  if (input.authorisedBy === 'approved-run') {
    return approvedRunRefusal(
      model,
      'promote',
      target,
      input,
      `get the run approved, or have a holder of role ${promoterRole} promote it`,
    );
  }
  return roleRefusal(model, 'promote', `v${input.version}`, input);
}

/**
 * Promote a version to production: the old production becomes previous, and a promoted candidate stops
 * being the candidate. Promoting the current production is a no-op result. A refusal is recorded.
 */
export function applyPromote(state: RegistryState, input: PromoteInput, at: string): PromoteResult | Refused {
  const refusal = promoteRefusal(state, input);
  if (refusal) return refuse(state, 'promote', input.version, input, refusal, at);
  const from = state.aliases.production;
  if (from === input.version)
    return { outcome: 'unchanged', version: input.version, aliases: aliases(state) };
  append(state, {
    type: 'promoted',
    at,
    by: input.by,
    version: input.version,
    from,
    reason: input.reason,
    authorisedBy: input.authorisedBy,
    approvedRun:
      input.authorisedBy === 'approved-run'
        ? (state.versions.find((v) => v.version === input.version)?.workflowId ?? null)
        : null,
  });
  if (state.aliases.candidate === input.version) state.aliases.candidate = null;
  syncProduction(state);
  resetTraffic(state);
  return { outcome: 'promoted', version: input.version, aliases: aliases(state) };
}

/** Why a rollback request is malformed (the validator's check). */
export function rollbackRequestProblem(model: string, input: RollbackInput): string | undefined {
  if (!isObject(input))
    return `rolling back model "${model}" needs { by, reason, authorisedBy, roleMembers }`;
  const problem = actorProblem(model, 'roll back', input);
  if (problem) return problem;
  if (!input.authorisedBy.startsWith('role:')) {
    return `${input.by} cannot roll back model "${model}" as ${input.authorisedBy}: a rollback needs role ${promoterRole}`;
  }
  return undefined;
}

/** Why the registry refuses this rollback, or `undefined` when it is allowed. */
export function rollbackRefusal(state: RegistryState, input: RollbackInput): string | undefined {
  const role = roleRefusal(state.model, 'roll back', 'to its previous version', input);
  if (role) return role;
  const stack = productionStack(state.events);
  if (stack.length < 2) {
    const now =
      state.aliases.production === null
        ? 'nothing is in production'
        : `only v${state.aliases.production} has been in production`;
    return `${input.by} cannot roll back model "${state.model}": it has no previous production version (${now}); promote a version instead`;
  }
  return undefined;
}

/** Put the previous production back; previous becomes the one before it in the event log. */
export function applyRollback(
  state: RegistryState,
  input: RollbackInput,
  at: string,
): RollbackResult | Refused {
  const refusal = rollbackRefusal(state, input);
  if (refusal) return refuse(state, 'rollback', state.aliases.production, input, refusal, at);
  const stack = productionStack(state.events);
  const from = stack[stack.length - 1] as number;
  const version = stack[stack.length - 2] as number;
  append(state, {
    type: 'rolled-back',
    at,
    by: input.by,
    from,
    version,
    reason: input.reason,
    authorisedBy: input.authorisedBy,
  });
  syncProduction(state);
  resetTraffic(state);
  return { from, version, aliases: aliases(state) };
}

/**
 * The production versions in force, oldest first, as the event log tells: a promotion pushes, a
 * rollback pops. Its top is production and the one below it is previous.
 */
export function productionStack(events: readonly RegistryEvent[]): number[] {
  const stack: number[] = [];
  for (const event of events) {
    if (event.type === 'promoted') stack.push(event.version);
    else if (event.type === 'rolled-back') stack.pop();
  }
  return stack;
}

/**
 * What keeps a version's run from counting as approved, or `undefined` when it was: approved means at
 * least one approve decision and no reject (a rejection vetoes, as at the approval gate).
 */
export function approvalShortfall(version: Pick<ModelVersion, 'approvals'>): string | undefined {
  const rejected = version.approvals.find((a) => a.decision === 'reject');
  if (rejected) return `was rejected by ${rejected.approver} at ${rejected.at}`;
  if (version.approvals.some((a) => a.decision === 'approve')) return undefined;
  return 'has no approve decision';
}

/** The `describe` query's answer. */
export function describeRegistry(state: RegistryState): RegistryDescription {
  return {
    model: state.model,
    versions: state.versions,
    aliases: aliases(state),
    eventCount: state.events.length,
    traffic: { ...(state.traffic ?? noTraffic) },
  };
}

/** No split: production answers everything, nothing in the shadow. */
export const noTraffic: RegistryTraffic = {
  version: null,
  canaryPercent: 0,
  shadow: false,
  at: null,
  by: null,
  reason: null,
};

/** Back to no split, when the candidate or production changes (state without traffic stays so). */
function resetTraffic(state: RegistryState): void {
  if (state.traffic) state.traffic = { ...noTraffic };
}

/** The memo kept on the workflow for listing without a worker. */
export function registryMemo(state: RegistryState): RegistryMemo {
  return {
    versions: state.versions.length,
    aliases: aliases(state),
    updatedAt: state.events[state.events.length - 1]?.at ?? null,
  };
}

function syncProduction(state: RegistryState): void {
  const stack = productionStack(state.events);
  state.aliases.production = stack[stack.length - 1] ?? null;
  state.aliases.previous = stack[stack.length - 2] ?? null;
}

export function roleRefusal(
  model: string,
  action: 'promote' | 'roll back' | 'steer traffic to',
  what: string,
  input: { by: string; authorisedBy: Authority; roleMembers?: string[] },
): string | undefined {
  const role = input.authorisedBy.startsWith('role:') ? input.authorisedBy.slice(5) : '';
  if (role !== promoterRole) {
    return `${input.by} cannot ${action} model "${model}" ${what} as ${input.authorisedBy}: only role ${promoterRole} may; ask one of its members`;
  }
  const members = Array.isArray(input.roleMembers) ? input.roleMembers : [];
  if (!members.includes(input.by)) {
    const fix = members.length
      ? `(held by ${members.join(', ')}); ask one of them, or add ${input.by} to "${role}" in the roles file`
      : `and no one does; add ${input.by} to "${role}" in the roles file`;
    return `${input.by} cannot ${action} model "${model}" ${what}: ${input.by} does not hold role ${role} ${fix}`;
  }
  return undefined;
}

export function actorProblem(
  model: string,
  action: string,
  input: { by: unknown; reason: unknown; authorisedBy: unknown; roleMembers?: unknown },
): string | undefined {
  if (!isText(input.by)) return `to ${action} model "${model}", say who you are (by)`;
  if (!isText(input.reason)) return `${input.by} must give a reason to ${action} model "${model}"`;
  const authority = input.authorisedBy;
  if (
    authority !== 'approved-run' &&
    !(typeof authority === 'string' && /^role:[A-Za-z0-9._-]+$/.test(authority))
  ) {
    return `${input.by} must say what authorises them to ${action} model "${model}": approved-run or role:<name>, got ${JSON.stringify(authority) ?? 'nothing'}`;
  }
  const members = input.roleMembers;
  if (members !== undefined && (!Array.isArray(members) || !members.every((m) => typeof m === 'string'))) {
    return `${input.by}: roleMembers for model "${model}" must be a list of ids`;
  }
  if (authority !== 'approved-run' && members === undefined) {
    return `${input.by} claims ${authority} for model "${model}" without its members from configuration: send roleMembers`;
  }
  return undefined;
}

export function refuse(
  state: RegistryState,
  action: RefusedEvent['action'],
  version: number | null,
  input: { by: string; reason: string; authorisedBy: string },
  refusal: string,
  at: string,
): Refused {
  append(state, {
    type: 'refused',
    at,
    by: input.by,
    action,
    version,
    reason: input.reason,
    authorisedBy: input.authorisedBy,
    refusal,
  });
  return { refused: refusal };
}

type NewEvent<E> = E extends RegistryEvent ? Omit<E, 'seq'> : never;

export function append(state: RegistryState, event: NewEvent<RegistryEvent>): void {
  state.events.push({ seq: state.events.length + 1, ...event });
}

function aliases(state: RegistryState): RegistryAliases {
  return { ...state.aliases };
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isText(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function isSha(value: unknown): value is string {
  return typeof value === 'string' && sha256Pattern.test(value);
}
