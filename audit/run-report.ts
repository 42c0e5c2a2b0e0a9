import type { JsonObject, JsonValue } from '../pipelines/json.js';
import type { ActivityFact, HistoryFacts } from './history-facts.js';
import { count, field, isObject, list, object, strings, text } from './json-read.js';
import { messageReports } from './messages.js';
import type {
  ApprovalReport,
  GateReport,
  ParameterReport,
  RefusalReport,
  RunReport,
  StepReport,
} from './report-types.js';
import {
  artifactEvidence,
  dataEvidence,
  evaluationEvidence,
  modelEvidence,
  registrationEvidence,
  type StepOutput,
} from './step-evidence.js';

/**
 * Explain one pipeline run (`dagWorkflow`) from its history: the input of its start event (the spec,
 * parameters, trigger, who started it, roles), each step matched to its activity's events (attempts,
 * failures, timings), the signals and updates it received, and the status it ended with (the
 * completion result, or the failure's details) — which holds every gate decision, approval and
 * refusal as the workflow code decided them.
 */
export function runReport(facts: HistoryFacts): RunReport {
  const input = facts.input[0]?.ok ? facts.input[0].value : null;
  const spec = object(field(input, 'spec'));
  const status = finalStatus(facts);
  const notes: string[] = [];
  if (!status) {
    notes.push(
      facts.close.kind === 'open'
        ? 'The run was still open when its history was taken: steps and approvals are shown as far as they had got.'
        : `The run ended ${facts.close.kind} without a final status: steps are shown from their activities.`,
    );
  }
  const undecoded = [
    ...facts.input,
    ...facts.signals.flatMap((s) => s.args),
    ...facts.updates.flatMap((u) => u.args),
  ]
    .filter((d) => !d.ok)
    .map((d) => (d.ok ? '' : d.reason));
  if (undecoded.length > 0) {
    notes.push(
      `${undecoded.length} recorded values could not be read (${[...new Set(undecoded)].join('; ')}).`,
    );
  }

  const statusSteps = list(field(status, 'steps')).filter(isObject);
  const specSteps = list(spec['steps']).filter(isObject);
  const steps = specSteps.map((step) => stepReport(step, statusSteps, facts.activities));
  const outputs: StepOutput[] = specSteps.map((step) => {
    const id = text(step['id']) ?? '';
    return {
      id,
      activity: text(step['activity']) ?? 'approval',
      params: object(step['params']),
      output:
        field(
          statusSteps.find((s) => s['id'] === id),
          'output',
        ) ?? activityOutput(facts.activities, id),
    };
  });

  const approvals = list(field(status, 'approvals')).filter(isObject).map(approvalReport);
  const refusedOutsideGate = list(field(status, 'refusedApprovals')).filter(isObject).map(refusal);
  const startedBy = text(field(input, 'startedBy')) ?? '(not recorded)';
  const trigger = text(field(input, 'trigger')) ?? 'manual';
  const rerun = field(input, 'rerun');
  const state = runState(facts, status);
  const stoppedBy = gate(field(status, 'stoppedBy'));
  const failure = facts.close.failure
    ? { type: facts.close.failure.type, message: facts.close.failure.message }
    : null;
  const startedAt = facts.startedAt;
  const finishedAt = facts.close.at;

  return {
    workflowId: facts.workflowId,
    runId: facts.runId,
    pipeline: text(spec['id']) ?? '(unknown pipeline)',
    description: text(spec['description']) ?? '',
    owner: text(spec['owner']),
    state,
    summary: summary(state, stoppedBy, failure, facts),
    startedAt,
    finishedAt,
    durationMs: startedAt && finishedAt ? Date.parse(finishedAt) - Date.parse(startedAt) : null,
    start: {
      by: startedBy,
      trigger,
      how: how(trigger, text(field(input, 'event'))),
      client: facts.startedByIdentity,
      taskQueue: facts.taskQueue,
      rerunOf:
        isObject(rerun) && typeof rerun['of'] === 'string'
          ? { of: rerun['of'], ...(typeof rerun['from'] === 'string' ? { from: rerun['from'] } : {}) }
          : null,
      roles: Object.fromEntries(
        Object.entries(object(field(input, 'roles'))).map(([role, ids]) => [role, strings(ids)]),
      ),
    },
    parameters: parameters(object(spec['params']), object(field(input, 'runParams'))),
    steps,
    gates: list(field(status, 'gates'))
      .map(gate)
      .filter((g): g is GateReport => g !== null),
    stoppedBy,
    failure,
    data: dataEvidence(outputs),
    models: modelEvidence(outputs),
    evaluations: evaluationEvidence(outputs),
    approvals,
    refusedOutsideGate,
    messages: messageReports(
      facts,
      [...approvals.flatMap((a) => [...a.decisions, ...a.refused]), ...refusedOutsideGate],
      status !== null,
    ),
    registrations: registrationEvidence(outputs),
    children: facts.children.map((c) => ({
      workflowId: c.workflowId,
      workflowType: c.workflowType,
      runId: c.runId,
    })),
    artifacts: artifactEvidence(outputs, null),
    code: {
      workerBuildIds: facts.workerBuildIds,
      bundleSha256s: facts.workerBuildIds
        .map((id) => /\+([0-9a-f]{64})$/.exec(id)?.[1] ?? '')
        .filter(Boolean),
    },
    notes,
  };
}

/** The DagStatus the run ended with: its result, or the details of its failure. */
function finalStatus(facts: HistoryFacts): JsonObject | null {
  const detail = facts.close.failure?.details[0];
  const value = facts.close.kind === 'completed' ? facts.close.result : detail?.ok ? detail.value : undefined;
  return isObject(value) && Array.isArray(value['steps']) ? value : null;
}

function runState(facts: HistoryFacts, status: JsonObject | null): string {
  const state = text(field(status, 'state'));
  if (state && facts.close.kind !== 'open') return state;
  return {
    open: 'running',
    completed: 'succeeded',
    failed: 'failed',
    cancelled: 'cancelled',
    terminated: 'terminated',
    'timed-out': 'timed out',
    'continued-as-new': 'continued as new',
  }[facts.close.kind];
}

function summary(
  state: string,
  stoppedBy: GateReport | null,
  failure: { message: string } | null,
  facts: HistoryFacts,
): string {
  if (stoppedBy) {
    return `The run stopped at the ${stoppedBy.gate} gate of step "${stoppedBy.step}": ${stoppedBy.reasons.join('; ')}.`;
  }
  if (state === 'failed' && failure) return `The run failed: ${failure.message}.`;
  if (state === 'succeeded') return 'Every step ran and every gate passed.';
  if (state === 'running') return 'The run was still going when its history was taken.';
  if (state === 'terminated') return `The run was terminated: ${facts.close.note ?? 'no reason given'}.`;
  return `The run ended ${state}.`;
}

function how(trigger: string, event: string | null): string {
  switch (trigger) {
    case 'manual':
      return 'by hand';
    case 'schedule':
      return 'by a schedule';
    case 'event':
      return event ? `by the event "${event}"` : 'by an event';
    case 'drift':
      return 'because drift was detected';
    default:
      return `by ${trigger}`;
  }
}

function parameters(declared: JsonObject, values: JsonObject): ParameterReport[] {
  const names = [...new Set([...Object.keys(declared), ...Object.keys(values)])].sort();
  return names.map((name) => {
    const spec = object(declared[name]);
    return {
      name,
      value: values[name] ?? null,
      type: text(spec['type']),
      default: spec['default'] ?? null,
      description: text(spec['description']),
    };
  });
}

function stepReport(step: JsonObject, statusSteps: JsonObject[], activities: ActivityFact[]): StepReport {
  const id = text(step['id']) ?? '';
  const status = statusSteps.find((s) => s['id'] === id) ?? {};
  const activity = text(step['activity']);
  // Match on the activity type too: an approval gate's reminders are activities naming its step.
  const ran = activities.filter((a) => stepOf(a) === id && a.type === activity);
  const last = ran[ran.length - 1];
  const cache = object(status['cache']);
  const error = object(status['error']);
  const failures = ran.flatMap((a) => [
    ...(a.lastFailure
      ? [
          {
            attempt: a.attempt > 1 ? a.attempt - 1 : null,
            at: null,
            type: a.lastFailure.type,
            message: a.lastFailure.message,
          },
        ]
      : []),
    ...(a.failure
      ? [{ attempt: a.attempt || null, at: a.finishedAt, type: a.failure.type, message: a.failure.message }]
      : []),
  ]);
  const message = text(error['message']);
  return {
    id,
    kind:
      step['approval'] !== undefined
        ? 'approval'
        : step['search'] !== undefined
          ? `search (${activity ?? ''})`
          : (activity ?? ''),
    description: text(step['description']),
    needs: strings(step['needs']),
    state: text(status['state']) ?? activityState(last),
    attempts: last ? last.attempt || null : count(status['attempt']),
    startedAt: text(status['startedAt']) ?? last?.scheduledAt ?? null,
    finishedAt: text(status['finishedAt']) ?? last?.finishedAt ?? null,
    durationMs: count(status['durationMs']),
    cache: typeof cache['hit'] === 'boolean' ? (cache['hit'] ? 'hit' : 'miss') : null,
    cacheFrom: text(cache['from']),
    skippedReason: text(status['skippedReason']),
    // The step's error repeats its last failed attempt when that is in history: say it once.
    error:
      message && !failures.some((f) => f.message === message)
        ? { type: text(error['type']) ?? 'Error', message }
        : null,
    failures,
  };
}

/** The step an activity ran: its input's `step`, or a local activity's summary (its input is not in history). */
function stepOf(activity: ActivityFact): JsonValue | undefined {
  return field(activity.input, 'step') ?? activity.step;
}

function activityState(fact: ActivityFact | undefined): string {
  if (!fact) return 'pending';
  return {
    completed: 'succeeded',
    failed: 'failed',
    'timed-out': 'failed',
    cancelled: 'cancelled',
    open: 'running',
  }[fact.outcome];
}

/** A step's output from its activity's result (`StepResult.output`), for runs without a final status. */
function activityOutput(activities: ActivityFact[], step: string): JsonValue | undefined {
  const done = activities.filter((a) => stepOf(a) === step && a.outcome === 'completed').pop();
  return done ? field(done.result, 'output') : undefined;
}

function gate(value: JsonValue | undefined): GateReport | null {
  if (!isObject(value)) return null;
  return {
    step: text(value['step']) ?? '',
    gate: text(value['gate']) ?? '',
    passed: value['passed'] === true,
    reasons: strings(value['reasons']),
  };
}

function approvalReport(gateStatus: JsonObject): ApprovalReport {
  const policy = object(gateStatus['policy']);
  return {
    step: text(gateStatus['step']) ?? '',
    state: text(gateStatus['state']) ?? '',
    approvers: strings(policy['approvers']),
    quorum: count(policy['quorum']),
    expiresIn: text(policy['expiresIn']),
    escalateTo: strings(policy['escalateTo']),
    eligible: strings(gateStatus['eligible']),
    excluded: strings(gateStatus['excluded']),
    modelVersion: text(gateStatus['modelVersion']) ?? '',
    metricsDigest: text(gateStatus['metricsDigest']) ?? '',
    openedAt: text(gateStatus['openedAt']),
    deadline: text(gateStatus['deadline']),
    decisions: list(gateStatus['decisions'])
      .filter(isObject)
      .map((d) => ({
        approver: text(d['approver']) ?? '',
        decision: text(d['decision']) ?? '',
        at: text(d['at']),
        comment: text(d['comment']),
        modelVersion: text(d['modelVersion']) ?? '',
        metricsDigest: text(d['metricsDigest']) ?? '',
        channel: text(d['channel']) ?? '',
        signedWith: text(field(d['signature'], 'keyId')),
      })),
    signed: policy['signed'] === true,
    refused: list(gateStatus['refused']).filter(isObject).map(refusal),
    notices: list(gateStatus['notices'])
      .filter(isObject)
      .map((n) => ({ at: text(n['at']), kind: text(n['kind']) ?? '', to: strings(n['to']) })),
  };
}

function refusal(value: JsonObject): RefusalReport {
  return {
    approver: text(value['approver']) ?? '',
    decision: text(value['decision']) ?? '',
    modelVersion: text(value['modelVersion']) ?? '',
    at: text(value['at']),
    channel: text(value['channel']) ?? '',
    reason: text(value['reason']) ?? '',
  };
}
