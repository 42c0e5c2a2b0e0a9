import { InvalidInputError } from '../pipelines/errors.js';
import {
  registryIdPrefix,
  registryWorkflowType,
  type RegistryAliases,
  type RegistryMemo,
} from '../pipelines/registry.js';
import type { GateDecision } from '../pipelines/gates.js';
import type { DagStatus, StepStatus } from '../workflows/index.js';

/**
 * What the read-only control commands show — runs, a run's status, models — and how each is derived
 * from what Temporal returns, shared by the gRPC and the HTTP read paths (client/reads.ts) so both
 * answer alike. Imports no Temporal SDK module.
 */

/** What `status` knows of a run: the server's view, plus the workflow's own status when a worker answers. */
export interface RunReport {
  workflowId: string;
  /** Temporal's execution status name (`RUNNING`, `COMPLETED`, …). */
  temporalState: string;
  startTime: Date;
  closeTime: Date | null;
  /** The run's status query; `null` when no worker answered within five seconds. */
  status: DagStatus | null;
}

export interface RunFilter {
  /** Only runs waiting at an approval gate. */
  awaitingApproval?: boolean | undefined;
  pipeline?: string | undefined;
  model?: string | undefined;
  /** At most this many runs, newest first (default 20). */
  limit?: number | undefined;
}

/** One run as the visibility store lists it (Sluice's search attributes). */
export interface RunSummary {
  workflowId: string;
  pipeline: string | null;
  status: string;
  stage: string | null;
  approval: string | null;
  trigger: string | null;
  startTime: string;
}

/** One model as `sluice models` lists it, read from visibility (no worker needed). */
export interface ModelSummary {
  model: string;
  workflowId: string;
  /** null when the registry's memo could not be read (see `unreadable`). */
  versions: number | null;
  aliases: RegistryAliases;
  updatedAt: string | null;
  /** Why the registry's memo could not be read (e.g. encrypted, and this process has no keys). */
  unreadable?: string;
}

/** How long `status` waits for a worker to answer the run's status query. */
export const statusQueryMs = 5_000;

/** The visibility query for a filter (exposed so callers can show what was asked). */
export function runsQuery(filter: RunFilter): string {
  const clauses = [`WorkflowType = 'dagWorkflow'`];
  if (filter.awaitingApproval) clauses.push(`SluiceApproval = 'awaiting'`, `ExecutionStatus = 'Running'`);
  if (filter.pipeline) clauses.push(`SluicePipeline = ${quote(filter.pipeline)}`);
  if (filter.model) clauses.push(`SluiceModel = ${quote(filter.model)}`);
  return clauses.join(' AND ');
}

/** The visibility query for every model with a running registry. */
export const modelsQuery = `WorkflowType = '${registryWorkflowType}' AND ExecutionStatus = 'Running'`;

/**
 * The filter's limit, checked.
 *
 * @throws InvalidInputError when it is not a positive integer.
 */
export function runsLimit(filter: RunFilter): number {
  const limit = filter.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new InvalidInputError(`the limit must be a positive integer, got "${limit}"`);
  }
  return limit;
}

/** A run's summary from its id, status name, start time and (decoded) search attributes. */
export function runSummary(
  workflowId: string,
  status: string,
  startTime: Date,
  searchAttributes: Record<string, unknown>,
): RunSummary {
  const attr = (name: string) => {
    const value = searchAttributes[name];
    const first = Array.isArray(value) ? (value as unknown[])[0] : value;
    if (first === undefined || first === null) return null;
    return typeof first === 'string' ? first : JSON.stringify(first);
  };
  return {
    workflowId,
    pipeline: attr('SluicePipeline'),
    status,
    stage: attr('SluiceStage'),
    approval: attr('SluiceApproval'),
    trigger: attr('SluiceTrigger'),
    startTime: startTime.toISOString(),
  };
}

/**
 * A model's summary from its registry's workflow id and memo; a memo that could not be decoded (the
 * error) leaves the model listed, with what stopped it, instead of failing the whole list.
 */
export function modelSummary(workflowId: string, memo: RegistryMemo | undefined | Error): ModelSummary {
  if (memo instanceof Error) {
    return {
      model: workflowId.slice(registryIdPrefix.length),
      workflowId,
      versions: null,
      aliases: { candidate: null, production: null, previous: null },
      updatedAt: null,
      unreadable: memo.message,
    };
  }
  return {
    model: workflowId.slice(registryIdPrefix.length),
    workflowId,
    versions: memo?.versions ?? 0,
    aliases: memo?.aliases ?? { candidate: null, production: null, previous: null },
    updatedAt: memo?.updatedAt ?? null,
  };
}

/** Models in name order, as `sluice models` lists them. */
export function byModelName(models: ModelSummary[]): ModelSummary[] {
  return models.sort((a, b) => a.model.localeCompare(b.model));
}

/** `run X stopped at the validation gate of step "validate": 2 error anomalies; rows: …` */
export function describeStop(workflowId: string, gate: GateDecision): string {
  return `run ${workflowId} stopped at the ${gate.gate} gate of step "${gate.step}": ${gate.reasons.join('; ')}`;
}

/** `profile ✓ 120 ms (attempt 1)` — one line per step transition. */
export function describeStep(step: StepStatus): string {
  const mark = { pending: '·', running: '▶', succeeded: '✓', failed: '✗', skipped: '–', cancelled: '⊘' }[
    step.state
  ];
  const took = step.durationMs === undefined ? '' : ` ${step.durationMs} ms`;
  const attempt = step.attempt && step.attempt > 1 ? ` (attempt ${step.attempt})` : '';
  const error = step.error ? `: ${step.error.message}` : '';
  const warnings = stepWarnings(step).map((w) => `\n    ! ${w}`);
  return `  ${mark} ${step.id} ${step.state}${took}${attempt}${error}${warnings.join('')}`;
}

/**
 * What a step said the user must know though it succeeded (rows left out, a categorical bucketed, a
 * column that looks like PII…): the `warnings` of its output, strings or anomalies with a `message`. Any step may return them; status and `--wait` show them.
 */
export function stepWarnings(step: StepStatus): string[] {
  const output = step.output;
  if (output === null || typeof output !== 'object' || Array.isArray(output)) return [];
  const warnings = output['warnings'];
  if (!Array.isArray(warnings)) return [];
  return warnings.flatMap((w) => {
    if (typeof w === 'string') return [w];
    // Ingest's PII suspects are anomalies with their words in `message`.
    const message = w !== null && typeof w === 'object' && !Array.isArray(w) ? w['message'] : undefined;
    return typeof message === 'string' ? [message] : [];
  });
}

function quote(value: string): string {
  return `'${value.replaceAll("'", "\\'")}'`;
}
