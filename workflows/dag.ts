import * as wf from '@temporalio/workflow';
import type { ApprovalGateStatus, RefusedApproval } from '../pipelines/approval.js';
import { deriveBlessing } from '../pipelines/blessing.js';
import { decideGate, type GateDecision } from '../pipelines/gates.js';
import { deployGate } from '../pipelines/deploy-rules.js';
import type { JsonValue } from '../pipelines/json.js';
import { lintSteps, topologicalOrder } from '../pipelines/lint.js';
import { runsLocally } from '../pipelines/local-steps.js';
import type { ParamValue } from '../pipelines/params.js';
import { resolveParamRefs } from '../pipelines/refs.js';
import { conditionHolds, describeCondition } from '../pipelines/condition.js';
import {
  SluiceModel,
  SluicePipeline,
  SluiceStage,
  type TriggerKind,
} from '../pipelines/search-attributes.js';
import type { ApproverKey } from '../pipelines/signing.js';
import type { PipelineSpec, StepSpec } from '../pipelines/spec.js';
import type { StepInput, StepResult } from '../pipelines/step.js';
import {
  activityFor,
  fastStepsPatch,
  leanLoopPatch,
  lookupReadySet,
  runActivityStep,
  stepsFrom,
  type ActivityStepContext,
  type ActivityStepResult,
} from './activity-step.js';
import type { CacheLookup } from '../activities/step-cache.js';
import { searchWorkflow } from './search.js';
import { deployWorkflow } from './deploy.js';
import { approvalGates } from './approval-gate.js';

/** The arguments of one pipeline run: the spec travels as data, so history alone tells what ran. */
export interface DagInput {
  spec: PipelineSpec;
  runParams: Record<string, ParamValue>;
  trigger: TriggerKind;
  /** Who or what started the run (a user id, `schedule:<id>`, …). */
  startedBy: string;
  /** Real task-queue names for the spec's `orchestration` / `train` pools. */
  taskQueues: { orchestration: string; train: string };
  /** Role membership at run start (from the roles file), for approval gates; recorded in history. */
  roles?: Record<string, string[]>;
  /** Approvers' public keys at run start (from the keys file), for signed approvals; recorded in history. */
  approverKeys?: ApproverKey[];
  /** The Sluice version that started the run; part of every step cache key. */
  codeVersion?: string;
  /** sha256 of each user step's module, by step name (`--steps`): part of that step's cache key. */
  stepCodes?: Record<string, string>;
  /** User steps defined with `local: true` that the spec uses (`--steps`): run as local activities. */
  localSteps?: string[];
  /** When this run reruns another: which, and from which step the cache is bypassed. */
  rerun?: { of: string; from?: string };
  /** With trigger `event`: the event's name, as it was announced (`sluice trigger`, `POST /v1/events`). */
  event?: string;
}

export type StepState = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
export type RunState = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'stopped';

export interface StepStatus {
  id: string;
  /** The activity it runs, `approval` for an approval gate, or `deploy` for a deploy step. */
  activity: string;
  needs: string[];
  state: StepState;
  /** The attempt that succeeded, as reported by the activity. */
  attempt?: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  output?: JsonValue;
  error?: { type: string; message: string };
  /** Why a step was skipped by its condition (then later steps still run). */
  skippedReason?: string;
  /** For cacheable steps: the key, and whether the output came from the cache (and which run made it). */
  cache?: { key: string; hit: boolean; from?: string };
}

export interface DagStatus {
  pipeline: string;
  state: RunState;
  trigger: TriggerKind;
  startedBy: string;
  runParams: Record<string, ParamValue>;
  startedAt: string;
  finishedAt?: string;
  steps: StepStatus[];
  /** Every gate decided so far, in order. */
  gates: GateDecision[];
  /** The gate that stopped the run, when one did (state `stopped`). */
  stoppedBy?: GateDecision;
  /** Approval gates: policy, who may decide, decisions, refusals, reminders. */
  approvals: ApprovalGateStatus[];
  /** Approval decisions that arrived while no gate was open, refused. */
  refusedApprovals: RefusedApproval[];
  /** Set when this run reruns another. */
  rerunOf?: { of: string; from?: string };
}

/** Per-step state, attempts, timings and outputs, live while the run goes on. */
export const statusQuery = wf.defineQuery<DagStatus>('status');

/**
 * Interpret a pipeline spec as a DAG: run every step whose dependencies succeeded, up to
 * `spec.maxParallel` at once, each on its pool's task queue with its own timeout and retry policy.
 * A failed step stops new work; steps already running finish; the run then fails naming the step.
 * All decisions live here (docs/architecture.md decision 4), so replaying the history re-derives them.
 */
export async function dagWorkflow(input: DagInput): Promise<DagStatus> {
  const { spec } = input;
  const problems = lintSteps(spec.steps);
  if (problems.length > 0) {
    throw wf.ApplicationFailure.nonRetryable(
      `pipeline "${spec.id}": ${problems.map((p) => p.message).join('; ')}`,
      'PipelineDefinitionError',
    );
  }
  const info = wf.workflowInfo();
  // Before any command: a run that began before this patch replays its one-activity-task-per-step path.
  const fastSteps = wf.patched(fastStepsPatch);
  const leanLoop = wf.patched(leanLoopPatch);
  const status: DagStatus = {
    pipeline: spec.id,
    state: 'running',
    trigger: input.trigger,
    startedBy: input.startedBy,
    runParams: input.runParams,
    startedAt: new Date().toISOString(),
    steps: spec.steps.map((step) => ({
      id: step.id,
      activity: step.activity ?? (step.deploy ? 'deploy' : 'approval'),
      needs: [...step.needs],
      state: 'pending',
    })),
    gates: [],
    approvals: [],
    refusedApprovals: [],
    ...(input.rerun ? { rerunOf: input.rerun } : {}),
  };
  wf.setHandler(statusQuery, () => status);
  const approvals = approvalGates({
    startedBy: input.startedBy,
    owner: spec.owner,
    roles: input.roles ?? {},
    keys: input.approverKeys ?? [],
    taskQueue: input.taskQueues.orchestration,
    gates: status.approvals,
    refusedOutsideGate: status.refusedApprovals,
  });
  const model = modelOf(spec);
  wf.upsertSearchAttributes([
    ...(model ? [{ key: SluiceModel, value: model }] : []),
    { key: SluicePipeline, value: spec.id },
    { key: SluiceStage, value: 'starting' },
  ]);

  const stepContext: ActivityStepContext = {
    taskQueues: input.taskQueues,
    codeVersion: input.codeVersion ?? '',
    forced: input.rerun?.from ? stepsFrom(spec.steps, input.rerun.from) : new Set(),
    ...(input.stepCodes ? { stepCodes: input.stepCodes } : {}),
    fastSteps,
    localSteps: input.localSteps ?? [],
  };
  const statusById = new Map(status.steps.map((s) => [s.id, s]));
  const byId = (id: string): StepStatus => statusById.get(id) as StepStatus;
  const outputs: Record<string, JsonValue> = {};
  const running: Record<string, Promise<void>> = {};
  let failure: { step: string; error: unknown } | undefined;

  const inputOf = (step: StepSpec): StepInput => ({
    run: {
      pipeline: spec.id,
      workflowId: info.workflowId,
      runId: info.runId,
      trigger: input.trigger,
      ...(spec.file === undefined ? {} : { file: spec.file }),
    },
    step: step.id,
    params: resolveParamRefs(step.params, input.runParams),
    runParams: input.runParams,
    inputs: Object.fromEntries(step.needs.map((need) => [need, outputs[need] ?? null])),
  });

  const begin = (step: StepSpec): StepStatus => {
    const state = byId(step.id);
    state.state = 'running';
    state.startedAt = new Date().toISOString();
    // A local step runs inside the workflow task, so no one could see it as the stage before it ends:
    // only steps that leave the workflow task set it.
    if (!(fastSteps && runsLocally(step, stepContext.localSteps ?? []))) {
      wf.upsertSearchAttributes([{ key: SluiceStage, value: step.id }]);
    }
    return state;
  };
  const succeeded = (step: StepSpec, stepInput: StepInput, state: StepStatus, result: ActivityStepResult) => {
    // An evaluation carries the blessing derived here from its metrics and the spec's thresholds, so
    // the approval gate, the model card and the registry see the workflow's verdict, not an activity's.
    const output = withBlessing(step, stepInput.params, result.output);
    outputs[step.id] = output;
    state.output = output;
    if (result.attempt !== undefined) state.attempt = result.attempt;
    if (result.cache) state.cache = result.cache;
    state.state = 'succeeded';
    if (step.deploy) {
      const decision = deployGate(step.id, result.output);
      status.gates.push(decision);
      if (!decision.passed) status.stoppedBy ??= decision;
    }
    if (step.gate) {
      const decision = decideGate(step.gate, step.id, output, stepInput.params);
      status.gates.push(decision);
      if (!decision.passed) status.stoppedBy ??= decision;
    }
  };
  const failed = (step: StepSpec, state: StepStatus, error: unknown) => {
    state.state = wf.isCancellation(error) ? 'cancelled' : 'failed';
    state.error = describe(error);
    failure ??= { step: step.id, error };
  };
  const finished = (state: StepStatus) => {
    state.finishedAt = new Date().toISOString();
    state.durationMs = Date.parse(state.finishedAt) - Date.parse(state.startedAt ?? state.finishedAt);
  };

  const runStep = async (
    step: StepSpec,
    stepInput: StepInput,
    lookups?: Promise<Record<string, CacheLookup>>,
  ): Promise<void> => {
    const state = begin(step);
    try {
      if (step.approval) {
        const subject = outputs[step.approval.subject ?? step.needs[0] ?? ''];
        const gate = await approvals.open(step.id, step.approval, subject);
        const output: JsonValue = {
          approved: gate.state === 'approved',
          state: gate.state,
          modelVersion: gate.modelVersion,
          metricsDigest: gate.metricsDigest,
          decisions: gate.decisions.map((d) => ({ ...d })),
        };
        outputs[step.id] = output;
        state.output = output;
        state.state = 'succeeded';
        const decision: GateDecision = {
          step: step.id,
          gate: 'approval',
          passed: gate.state === 'approved',
          reasons: approvalReasons(gate),
        };
        status.gates.push(decision);
        if (!decision.passed) status.stoppedBy ??= decision;
        return;
      }
      const result = step.deploy
        ? {
            output: await wf.executeChild(deployWorkflow, {
              workflowId: `${info.workflowId}/${step.id}`,
              args: [
                { step: step.id, deploy: step.deploy, stepInput, taskQueue: input.taskQueues.orchestration },
              ],
            }),
          }
        : step.search
          ? {
              output: await wf.executeChild(searchWorkflow, {
                workflowId: `${info.workflowId}/${step.id}`,
                args: [{ step, search: step.search, stepInput, taskQueues: input.taskQueues }],
              }),
            }
          : await runActivityStep(step, stepInput, stepContext, lookups);
      succeeded(step, stepInput, state, result);
    } catch (error) {
      failed(step, state, error);
    } finally {
      finished(state);
    }
  };

  const isReady = (step: StepSpec): boolean =>
    byId(step.id).state === 'pending' &&
    step.needs.every((n) => byId(n).state === 'succeeded' || byId(n).skippedReason !== undefined);
  /** A step whose condition does not hold is skipped; steps after it still run (inputs: null). */
  const skipped = (step: StepSpec): boolean => {
    if (!step.when || conditionHolds(step.when, input.runParams)) return false;
    const state = byId(step.id);
    state.state = 'skipped';
    state.skippedReason = `condition: ${describeCondition(step.when)} is false`;
    return true;
  };

  const order = topologicalOrder(spec.steps);
  if (leanLoop) {
    // Steps start from the callback of the step before them, not from a loop racing every step in
    // flight: each promise a workflow makes costs the SDK a stack capture, and a plain activity step
    // now makes one of its own (a step that waits on a gate, a child or the cache still runs runStep).
    let inFlight = 0;
    let fatal: { error: unknown } | undefined;
    let finish = (): void => undefined;
    const allDone = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const settle = (): void => {
      inFlight -= 1;
      pump();
    };
    const crash = (error: unknown): void => {
      fatal ??= { error };
      finish();
    };
    const runPlainStep = (step: StepSpec, stepInput: StepInput): void => {
      const state = begin(step);
      let pending: Promise<StepResult>;
      try {
        const local = fastSteps && runsLocally(step, stepContext.localSteps ?? []);
        pending = activityFor(step, stepContext.taskQueues, local)(stepInput);
      } catch (error) {
        // The step's activity options could not be built (a timeout or retry interval that does not
        // parse): it fails here; pump() ends the run once the rest have settled.
        failed(step, state, error);
        finished(state);
        inFlight -= 1;
        return;
      }
      // As runStep: what the bookkeeping of a result throws fails the step; what fails the bookkeeping
      // of a failure ends the run (crash), never a rejection that nobody handles.
      const conclude = (record: () => void): void => {
        try {
          record();
          finished(state);
        } catch (error) {
          crash(error);
          return;
        }
        settle();
      };
      pending.then(
        (result) =>
          conclude(() => {
            try {
              succeeded(step, stepInput, state, { output: result.output, attempt: result.attempt });
            } catch (error) {
              failed(step, state, error);
            }
          }),
        (error: unknown) => conclude(() => failed(step, state, error)),
      );
    };
    /** Start every step that can start now; end the run when nothing is left in flight. */
    const pump = (): void => {
      if (fatal) return;
      try {
        if (!failure && !status.stoppedBy) {
          const ready: { step: StepSpec; input: StepInput }[] = [];
          for (const step of order) {
            if (inFlight + ready.length >= spec.maxParallel) break;
            if (!isReady(step) || skipped(step)) continue;
            ready.push({ step, input: inputOf(step) });
          }
          // One cache lookup for every cacheable step of the ready set (a local activity).
          const lookups = lookupReadySet(
            ready.filter(({ step }) => step.activity !== undefined && !step.search),
            stepContext,
          );
          inFlight += ready.length;
          for (const { step, input: stepInput } of ready) {
            if (
              step.activity !== undefined &&
              !step.approval &&
              !step.deploy &&
              !step.search &&
              !step.cache
            ) {
              runPlainStep(step, stepInput);
            } else {
              runStep(step, stepInput, lookups).then(settle, crash);
            }
          }
        }
        if (inFlight === 0) finish();
      } catch (error) {
        crash(error);
      }
    };
    pump();
    await allDone;
    if (fatal) throw fatal.error;
  }
  for (;;) {
    if (leanLoop) break;
    if (!failure && !status.stoppedBy) {
      const ready: { step: StepSpec; input: StepInput }[] = []; // this round's steps (fastSteps)
      for (const step of order) {
        if (Object.keys(running).length >= spec.maxParallel) break;
        if (!isReady(step) || skipped(step)) continue;
        if (!fastSteps) {
          running[step.id] = runStep(step, inputOf(step)).finally(() => delete running[step.id]);
          continue;
        }
        ready.push({ step, input: inputOf(step) });
        running[step.id] = Promise.resolve(); // counted against maxParallel; replaced just below
      }
      // One cache lookup for every cacheable step of the ready set (a local activity).
      const lookups = lookupReadySet(
        ready.filter(({ step }) => step.activity !== undefined && !step.search),
        stepContext,
      );
      for (const { step, input: stepInput } of ready) {
        running[step.id] = runStep(step, stepInput, lookups).finally(() => delete running[step.id]);
      }
    }
    const inFlight = Object.values(running);
    if (inFlight.length === 0) break;
    await Promise.race(inFlight);
  }

  for (const step of status.steps) if (step.state === 'pending') step.state = 'skipped';
  status.finishedAt = new Date().toISOString();
  if (failure) {
    const cancelled = wf.isCancellation(failure.error);
    status.state = cancelled ? 'cancelled' : 'failed';
    wf.upsertSearchAttributes([
      { key: SluiceStage, value: cancelled ? 'cancelled' : `failed:${failure.step}` },
    ]);
    if (cancelled) throw failure.error;
    throw wf.ApplicationFailure.create({
      type: 'StepFailed',
      message: `step "${failure.step}" failed: ${describe(failure.error).message}`,
      nonRetryable: true,
      details: [status],
    });
  }
  if (status.stoppedBy) {
    // A refused gate is a result, not a failure: the run completes, stopped, with the reasons.
    status.state = 'stopped';
    wf.upsertSearchAttributes([{ key: SluiceStage, value: `stopped:${status.stoppedBy.step}` }]);
    wf.log.info('run stopped at a gate', { ...status.stoppedBy });
    return status;
  }
  status.state = 'succeeded';
  wf.upsertSearchAttributes([{ key: SluiceStage, value: 'done' }]);
  return status;
}

/** An evaluation step's output with the workflow's blessing in place of any the activity sent. */
function withBlessing(step: StepSpec, params: JsonValue, output: JsonValue): JsonValue {
  if (step.gate !== 'evaluation' && step.activity !== 'evaluateModel') return output;
  if (typeof output !== 'object' || output === null || Array.isArray(output)) return output;
  const blessing = deriveBlessing(step.id, params, output);
  if ('error' in blessing) return output;
  return { ...output, blessing: blessing as unknown as JsonValue };
}

/** The model a pipeline registers (its registerModel step's `params.model`), for `SluiceModel`. */
function modelOf(spec: PipelineSpec): string | undefined {
  const model = spec.steps.find((step) => step.activity === 'registerModel')?.params['model'];
  return typeof model === 'string' ? model : undefined;
}

function approvalReasons(gate: ApprovalGateStatus): string[] {
  const decided = gate.decisions.map(
    (d) =>
      `${d.approver} ${d.decision === 'approve' ? 'approved' : 'rejected'}${d.comment ? `: ${d.comment}` : ''}`,
  );
  switch (gate.state) {
    case 'approved':
      return decided;
    case 'rejected':
      return ['rejected', ...decided];
    case 'expired':
      return [`expired at ${gate.deadline} with ${gate.decisions.length} of ${gate.policy.quorum} approvals`];
    case 'awaiting':
      return ['awaiting'];
  }
}

/** The innermost cause of a failure: what the user needs to read. */
function describe(error: unknown): { type: string; message: string } {
  let current: unknown = error;
  while (current instanceof wf.TemporalFailure && current.cause) current = current.cause;
  if (current instanceof wf.ApplicationFailure) {
    return { type: current.type ?? 'Error', message: current.message };
  }
  if (current instanceof Error) return { type: current.name, message: current.message };
  return { type: 'Error', message: String(current) };
}
