import type { JsonObject, JsonValue } from '../pipelines/json.js';

/**
 * The audit report of one or more runs, derived from workflow histories alone. It is what `--format
 * json` prints and what the Markdown and HTML renderings show, so the three never disagree. Every time
 * is ISO-8601 UTC; every "who" is as recorded in history (the run's `startedBy`, an approver id, the
 * Temporal client identity that sent a message).
 */
export interface AuditReport {
  format: 'sluice.audit-report/v1';
  generatedAt: string;
  generatedBy: string;
  /** The export the histories came from, verified against its manifest; `null` for loose files or a live run. */
  export: ExportInfo | null;
  /** Every history the report was built from. */
  sources: SourceReport[];
  /** Pipeline runs (`dagWorkflow`), each explained in full. */
  runs: RunReport[];
  /** Other histories: hyperparameter searches (children), model registries the runs wrote to. */
  related: RelatedReport[];
}

export interface ExportInfo {
  dir: string;
  exportedAt: string;
  exportedBy: string;
  sluiceVersion: string;
  workflowBundleSha256: string;
  temporalServerVersion: string;
}

export interface SourceReport {
  source: string;
  /** The file's path inside its export, when it came from one. */
  file: string | null;
  workflowId: string;
  runId: string;
  workflowType: string;
  events: number;
  /** sha256 of the file as recorded in the export manifest (verified), when exported by Sluice. */
  sha256: string | null;
}

export interface RunReport {
  workflowId: string;
  runId: string;
  pipeline: string;
  description: string;
  owner: string | null;
  /** `succeeded`, `failed`, `stopped` (at a gate), `cancelled`, `terminated`, `running`… */
  state: string;
  /** One sentence: what happened. */
  summary: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  start: StartReport;
  parameters: ParameterReport[];
  steps: StepReport[];
  gates: GateReport[];
  stoppedBy: GateReport | null;
  failure: { type: string; message: string } | null;
  data: DataReport;
  models: ModelReport[];
  evaluations: EvaluationReport[];
  approvals: ApprovalReport[];
  /** Decisions sent while no gate was open, refused. */
  refusedOutsideGate: RefusalReport[];
  /** Every signal and update the run received, in order, with its outcome. */
  messages: MessageReport[];
  registrations: RegistrationReport[];
  children: { workflowId: string; workflowType: string; runId: string | null }[];
  artifacts: ArtifactReport[];
  /** The workflow code that decided the run: worker build ids recorded in its workflow tasks. */
  code: { workerBuildIds: string[]; bundleSha256s: string[] };
  /** Things a reader must know: an open run, values the history could not decode… */
  notes: string[];
}

export interface StartReport {
  /** Who or what started it, as the run recorded (`startedBy`). */
  by: string;
  trigger: string;
  /** The trigger in words: "by hand", "by a schedule", "because drift was detected". */
  how: string;
  /** The Temporal client identity that sent the start request. */
  client: string;
  taskQueue: string;
  rerunOf: { of: string; from?: string } | null;
  /** Role membership recorded at the start (what approval gates used). */
  roles: Record<string, string[]>;
}

export interface ParameterReport {
  name: string;
  value: JsonValue;
  type: string | null;
  default: JsonValue;
  description: string | null;
}

export interface StepReport {
  id: string;
  /** The activity, `approval` for a gate, or `search` for a hyperparameter search (child workflow). */
  kind: string;
  description: string | null;
  needs: string[];
  state: string;
  /** Attempts the server recorded for the step's activity (1 = first try). */
  attempts: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  cache: 'hit' | 'miss' | null;
  /** For a cache hit: the run whose output was reused. */
  cacheFrom: string | null;
  skippedReason: string | null;
  error: { type: string; message: string } | null;
  /** Failed attempts Temporal recorded (the last failure before a retry, and a final failure). */
  failures: { attempt: number | null; at: string | null; type: string; message: string }[];
}

export interface GateReport {
  step: string;
  gate: string;
  passed: boolean;
  reasons: string[];
}

export interface DataReport {
  datasets: {
    step: string;
    what: string;
    location: string;
    sha256: string;
    bytes: number | null;
    rows: number | null;
    columns: number | null;
  }[];
  contracts: { step: string; rules: { column: string; rules: string }[] }[];
  validations: {
    step: string;
    passed: boolean;
    errors: number;
    warnings: number;
    checks: number | null;
    anomalies: { column: string; check: string; expected: string; observed: string; severity: string }[];
    omitted: number;
  }[];
  drift: {
    step: string;
    drifted: number;
    features: number;
    verdicts: { column: string; verdict: string; psi: number | null }[];
  }[];
}

export interface ModelReport {
  step: string;
  sha256: string;
  task: string | null;
  engine: string | null;
  backend: string | null;
  seed: JsonValue;
  hyperparameters: JsonObject;
  rows: JsonObject;
  /** Source rows training left out, and why (`source`, `noSplit`, `missingLabel`, `unusableLabel`); null when not recorded. */
  dropped: JsonObject | null;
  /** What the step warned about (rows left out, categoricals bucketed). */
  warnings: string[];
  training: JsonObject;
  resumedFromEpoch: number | null;
  search: {
    trials: { id: string; values: JsonObject; state: string; value: number | null }[];
    best: string | null;
    reason: string;
  } | null;
}

export interface EvaluationReport {
  step: string;
  model: string | null;
  rows: number | null;
  threshold: number | null;
  metrics: MetricReport[];
  production: { model: string | null; metrics: MetricReport[]; delta: MetricReport[] } | null;
  fairness: { column: string; summary: MetricReport[]; groups: JsonObject[] }[];
  blessed: boolean | null;
  reasons: { check: string; passed: boolean; message: string }[];
}

export interface MetricReport {
  name: string;
  value: number | null;
  lo: number | null;
  hi: number | null;
}

export interface ApprovalReport {
  step: string;
  state: string;
  approvers: string[];
  quorum: number | null;
  expiresIn: string | null;
  escalateTo: string[];
  eligible: string[];
  excluded: string[];
  modelVersion: string;
  metricsDigest: string;
  openedAt: string | null;
  deadline: string | null;
  decisions: {
    approver: string;
    decision: string;
    at: string | null;
    comment: string | null;
    modelVersion: string;
    metricsDigest: string;
    channel: string;
    /** The key that signed it (checked by the gate, and again by `sluice audit verify`). */
    signedWith?: string | null;
  }[];
  /** Whether the policy required signed decisions (`approval.signed`). */
  signed?: boolean;
  refused: RefusalReport[];
  notices: { at: string | null; kind: string; to: string[] }[];
}

export interface RefusalReport {
  approver: string;
  decision: string;
  modelVersion: string;
  at: string | null;
  channel: string;
  reason: string;
}

export interface MessageReport {
  at: string | null;
  eventId: number;
  kind: 'signal' | 'update';
  name: string;
  /** The Temporal client identity that sent it (`pid@host`, `temporal-cli`, …). */
  sender: string;
  /** Who the message speaks for, when it says (an approver, `by`). */
  actor: string | null;
  content: JsonValue;
  outcome: string;
}

export interface RegistrationReport {
  step: string;
  model: string;
  version: number | null;
  created: boolean | null;
  modelSha256: string | null;
}

export interface ArtifactReport {
  sha256: string;
  kind: string;
  format: string;
  bytes: number | null;
  step: string;
  uri: string;
  /** Whether the artifact store still holds the bytes; `null` when no store was consulted. */
  present: boolean | null;
}

/** A non-pipeline history: what it is, and the messages and activities it recorded. */
export interface RelatedReport {
  workflowId: string;
  runId: string;
  workflowType: string;
  role: string;
  relatedTo: string | null;
  startedAt: string | null;
  closedAt: string | null;
  state: string;
  messages: MessageReport[];
  activities: {
    step: string;
    activity: string;
    outcome: string;
    attempts: number;
    startedAt: string | null;
    finishedAt: string | null;
    error: string | null;
  }[];
}
