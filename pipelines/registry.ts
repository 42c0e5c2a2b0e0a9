import type { JsonObject } from './json.js';

/**
 * The model registry's vocabulary (docs/architecture.md decision 6): one long-lived entity workflow per model
 * holds its versions with lineage, its aliases and an append-only event log. Everything here is plain
 * JSON and sandbox-safe, so the workflow, the client helpers, the CLI and the `registerModel` step
 * share one definition of what the registry stores and what it answers.
 */

/** Workflow type of the registry entity; visibility queries filter on it. */
export const registryWorkflowType = 'registryWorkflow';

/** Prefix of every registry workflow id: `registry/<model>`. */
export const registryIdPrefix = 'registry/';

/** The only role whose holders may promote or roll back a model by their own authority. */
export const promoterRole = 'promoter';

/** History length at which a registry continues as new, unless its input sets another bound. */
export const defaultMaxHistoryEvents = 2_000;

/** Largest `metrics` JSON kept in a version's lineage: the full evaluation belongs in the artifact store. */
export const maxMetricsChars = 16_384;

/** Model names: they live in workflow ids and search attributes, so keep them short and plain. */
export const modelNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * The workflow id of a model's registry. One id per model is what makes the registry an entity: every
 * client finds the same workflow without a lookup table.
 */
export function registryWorkflowId(model: string): string {
  return `${registryIdPrefix}${model}`;
}

/** Why `model` cannot be a registry name, or `undefined` when it can. */
export function modelNameProblem(model: unknown): string | undefined {
  if (typeof model !== 'string' || !modelNamePattern.test(model)) {
    return `model name ${JSON.stringify(model) ?? 'undefined'} is not usable: use 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit`;
  }
  return undefined;
}

/**
 * An approval decision as the approval gate records it. Structurally a subset of the gate's own
 * decision record, so the gate's decisions can be passed in unchanged and kept in the lineage.
 */
export type RegistryApproval = {
  approver: string;
  decision: 'approve' | 'reject';
  at: string;
  comment?: string | null;
  modelVersion?: string;
  metricsDigest?: string;
  channel?: string;
};

/** The stored model a version points at: its content-addressed manifest. */
export type RegisteredModelRef = {
  uri: string;
  sha256: string;
  kind: string;
  format: string;
  bytes: number;
};

/** Where a version came from: enough for an auditor to walk back to the run, its data and its sign-off. */
export type VersionLineage = {
  /** Caller-chosen key that makes registration idempotent (the `registerModel` step uses run + step). */
  requestId: string;
  runId: string;
  workflowId: string;
  pipeline: string;
  /** sha256 of every dataset the model was trained or evaluated on. */
  dataSha256s: string[];
  model: RegisteredModelRef;
  /** Small JSON: headline metrics only. */
  metrics: JsonObject;
  /** The decisions of the run's approval gate, as recorded there. */
  approvals: RegistryApproval[];
  registeredBy: string;
};

/** One registered version: lineage plus its number and registration time. */
export type ModelVersion = VersionLineage & { version: number; registeredAt: string };

/** Named pointers into the versions; `null` when nothing holds the alias. */
export type RegistryAliases = {
  /** The latest registered version not yet promoted. */
  candidate: number | null;
  production: number | null;
  /** The production before the current one, as the event log tells: what a rollback returns to. */
  previous: number | null;
};

/**
 * What authorised a promotion or rollback, recorded with it: the version's approved run, or a role
 * whose members (from configuration, sent along and kept in history) include the person.
 */
export type Authority = 'approved-run' | `role:${string}`;

type EventBase = { seq: number; at: string; by: string };

export type RegisteredEvent = EventBase & {
  type: 'registered';
  version: number;
  requestId: string;
  workflowId: string;
  runId: string;
};

export type PromotedEvent = EventBase & {
  type: 'promoted';
  version: number;
  /** The production version it replaced. */
  from: number | null;
  reason: string;
  authorisedBy: Authority;
  approvedRun: string | null;
};

export type RolledBackEvent = EventBase & {
  type: 'rolled-back';
  /** The version taken out of production. */
  from: number;
  /** The version restored to production. */
  version: number;
  reason: string;
  authorisedBy: Authority;
};

/** The desired traffic for a candidate changed: what every serving replica applies on its next poll. */
export type TrafficEvent = EventBase & {
  type: 'traffic';
  version: number;
  canaryPercent: number;
  shadow: boolean;
  reason: string;
  authorisedBy: Authority;
};

export type RefusedEvent = EventBase & {
  type: 'refused';
  action: 'promote' | 'rollback' | 'traffic';
  version: number | null;
  reason: string;
  authorisedBy: string;
  /** Why the registry said no, worded for the person. */
  refusal: string;
};

/** The append-only log: every change and every refused attempt, with who, when and why. */
export type RegistryEvent = RegisteredEvent | PromotedEvent | RolledBackEvent | TrafficEvent | RefusedEvent;

/**
 * The traffic the candidate should get on every serving replica (docs/deploy.md): a share of requests
 * answered by the candidate (canary) and whether it scores every request beside production (shadow).
 * It belongs to one candidate version: registering a new candidate, promoting it or rolling production
 * back sets it back to none, so a stale split never reaches another version.
 */
export type RegistryTraffic = {
  /** The candidate version the split is for; null when no split is set. */
  version: number | null;
  canaryPercent: number;
  shadow: boolean;
  /** When, by whom and why it was last set (null when never set since the last reset). */
  at: string | null;
  by: string | null;
  reason: string | null;
};

/** The registry's whole state: plain JSON, carried across continue-as-new unchanged. */
export type RegistryState = {
  model: string;
  versions: ModelVersion[];
  aliases: RegistryAliases;
  events: RegistryEvent[];
  /** Absent in state carried over from before traffic steering: read as no split. */
  traffic?: RegistryTraffic;
};

/** The `registryWorkflow` argument. */
export type RegistryInput = {
  model: string;
  /** State from the previous run, when continuing as new. */
  state?: RegistryState;
  /** Continue as new once the history has this many events (default {@link defaultMaxHistoryEvents}). */
  maxHistoryEvents?: number;
};

/** `registerVersion` update argument. */
export type RegisterVersionInput = VersionLineage;

export type RegisterVersionResult = {
  version: number;
  /** `false` when `requestId` had already registered this version (a retry or a replay). */
  created: boolean;
};

/** `promote` update argument. */
export type PromoteInput = {
  version: number;
  by: string;
  reason: string;
  authorisedBy: Authority;
  /** With `approved-run`: the run the caller relies on; must be the version's own run. */
  approvedRun?: string;
  /** With `role:<name>`: the role's members from configuration. */
  roleMembers?: string[];
};

export type PromoteResult = {
  /** `unchanged` when the version already was production: a no-op, not an error. */
  outcome: 'promoted' | 'unchanged';
  version: number;
  aliases: RegistryAliases;
};

/** `rollback` update argument: only a role holder may roll back. */
export type RollbackInput = {
  by: string;
  reason: string;
  authorisedBy: `role:${string}`;
  roleMembers: string[];
};

export type RollbackResult = {
  /** The version taken out of production. */
  from: number;
  /** The version now in production. */
  version: number;
  aliases: RegistryAliases;
};

/** `setTraffic` update argument: the candidate's canary share and shadow switch. */
export type SetTrafficInput = {
  version: number;
  /** Whole percent 0–100 of requests the candidate answers. */
  canaryPercent: number;
  shadow: boolean;
  by: string;
  reason: string;
  authorisedBy: Authority;
  /** With `approved-run`: the run the caller relies on; must be the version's own, approved run. */
  approvedRun?: string;
  /** With `role:<name>`: the role's members from configuration. */
  roleMembers?: string[];
};

export type SetTrafficResult = {
  /** `unchanged` when the traffic already was this. */
  outcome: 'set' | 'unchanged';
  traffic: RegistryTraffic;
};

/** The `describe` query's answer. */
export type RegistryDescription = {
  model: string;
  versions: ModelVersion[];
  aliases: RegistryAliases;
  eventCount: number;
  /** The candidate's desired traffic (optional only for answers from registries older than steering). */
  traffic?: RegistryTraffic;
};

/** What the registry keeps in its memo, so `sluice models` can list models without a worker. */
export type RegistryMemo = {
  versions: number;
  aliases: RegistryAliases;
  updatedAt: string | null;
};

/** Memo key of {@link RegistryMemo}. */
export const registryMemoKey = 'sluiceRegistry';

/** Names of the registry's updates and queries, for clients that address them by name. */
export const registryMessages = {
  registerVersion: 'registerVersion',
  promote: 'promote',
  rollback: 'rollback',
  setTraffic: 'setTraffic',
  describe: 'describe',
  history: 'history',
} as const;
