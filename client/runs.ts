import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { setMaxListeners } from 'node:events';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import { TemporalFailure } from '@temporalio/common';
import { sha256File } from '../lib/hash.js';
import { loadStepModules, type LoadedSteps } from '../pipelines/step-modules.js';
import { checkStepActivities, localStepNames } from './step-check.js';
import { resolveSource } from '../lib/paths.js';
import { InvalidInputError, SluiceError } from '../pipelines/errors.js';
import type { ApprovalGateStatus } from '../pipelines/approval.js';
import { resolveRunParams, withParamDefaults, type ParamValue } from '../pipelines/params.js';
import {
  SluiceApproval,
  SluicePipeline,
  SluiceStage,
  SluiceTrigger,
  type TriggerKind,
} from '../pipelines/search-attributes.js';
import type { PipelineSpec } from '../pipelines/spec.js';
import type { SluiceConfig } from '../lib/config.js';
import { sluiceVersion as packageVersion } from '../lib/package-info.js';
import { loadRoles } from './roles.js';
import { loadKeys } from '../lib/keys.js';
import { eligibleApprovers } from '../pipelines/approval.js';
import type { DagInput, DagStatus, dagWorkflow, StepStatus } from '../workflows/index.js';

export { describeStep, describeStop, stepWarnings } from './run-views.js';
import type { SearchAttributePair } from '@temporalio/common';

/** The Sluice version, part of every step cache key. */
export const sluiceVersion = packageVersion();

export interface StartRunOptions {
  runParams: Record<string, ParamValue>;
  /** Never reuse `workflowId`: a run with it, running or finished, makes the start fail (deduplication). */
  once?: boolean;
  /** Rerun of an earlier run: steps from `from` on bypass the cache. */
  rerun?: { of: string; from?: string };
  trigger?: TriggerKind;
  startedBy?: string;
  workflowId?: string;
  /** With trigger `event`: the event's name, recorded in the run's input for audit. */
  event?: string;
  /** The user's steps, to check params against; default: the modules in `config.steps` (`SLUICE_STEPS`). */
  steps?: LoadedSteps;
}

/** A workflow id that sorts by time and names its pipeline: `first-dag-20261123-231500-a1b2c3d4`. */
export function newRunId(pipeline: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${pipeline}-${stamp}-${randomBytes(4).toString('hex')}`;
}

/** Start one run of `spec` as a `dagWorkflow`, with Sluice's search attributes set from the start. */
export async function startRun(
  client: Client,
  config: SluiceConfig,
  spec: PipelineSpec,
  options: StartRunOptions,
): Promise<WorkflowHandle<typeof dagWorkflow>> {
  const { input, searchAttributes } = await runStart(config, spec, options);
  return client.workflow.start<typeof dagWorkflow>('dagWorkflow', {
    taskQueue: config.taskQueues.orchestration,
    workflowId: options.workflowId ?? newRunId(spec.id),
    args: [input],
    typedSearchAttributes: searchAttributes,
    ...(options.once ? { workflowIdReusePolicy: 'REJECT_DUPLICATE' as const } : {}),
  });
}

export interface TriggerInput {
  /** What announced the data: a name for the audit trail (`orders-landed`). */
  event: string;
  /** The data's location, resolved inside SLUICE_DATA_ROOTS and hashed. */
  data: string;
  /** Further run parameters as text, typed by the spec. */
  params: Record<string, string>;
  /** Who started it, as the run records it. */
  startedBy: string;
}

export interface TriggerResult {
  workflowId: string;
  started: boolean;
  event: string;
  dataSha256: string;
  /** The run's Temporal status now (`RUNNING`, `COMPLETED`, …). */
  status: string;
}

/**
 * Start `spec` on new data, as trigger `event` (`sluice trigger`, `POST /v1/events`). The run id is
 * derived from the pipeline and the data's content hash, so the same data starts one run however often
 * it is announced, on whichever channel.
 */
export async function triggerOnData(
  client: Client,
  config: SluiceConfig,
  spec: PipelineSpec,
  input: TriggerInput,
): Promise<TriggerResult> {
  if (!('source' in spec.params)) {
    throw new InvalidInputError(
      `pipeline "${spec.id}" has no "source" parameter to receive the data: declare params.source and use { $param: 'source' } in its ingest step`,
    );
  }
  const path = await resolveSource(input.data, config.dataRoots);
  const { sha256 } = await sha256File(path);
  const runParams = resolveRunParams(spec, { ...input.params, source: input.data });
  const workflowId = `${spec.id}-data-${sha256.slice(0, 16)}`;
  let started = true;
  try {
    await startRun(client, config, spec, {
      runParams,
      trigger: 'event',
      startedBy: input.startedBy,
      workflowId,
      once: true,
      event: input.event,
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    started = false;
  }
  const description = await client.workflow.getHandle(workflowId).describe();
  return { workflowId, started, event: input.event, dataSha256: sha256, status: description.status.name };
}

/**
 * The workflow input and search attributes of a run, checked first (every activity is registered,
 * roles are readable): shared by `sluice run`, triggers and schedules, so a run is the same whoever
 * starts it.
 */
export async function runStart(
  config: SluiceConfig,
  spec: PipelineSpec,
  options: StartRunOptions,
): Promise<{ input: DagInput; searchAttributes: SearchAttributePair[] }> {
  const steps = options.steps ?? (await loadStepModules(config.steps));
  const runParams = withParamDefaults(spec, options.runParams);
  const stepCodes = checkStepActivities(spec, steps, runParams);
  const localSteps = localStepNames(spec, steps);
  const trigger = options.trigger ?? 'manual';
  const gates = spec.steps.flatMap((step) => (step.approval ? [step.approval] : []));
  const roles = gates.length > 0 ? await loadRoles(config) : {};
  // Approvers' public keys, recorded like role membership: a key registered later does not count.
  const approvers = new Set(gates.flatMap((policy) => eligibleApprovers(policy, roles)));
  const approverKeys =
    gates.length > 0 ? (await loadKeys(config.keys.file)).filter((key) => approvers.has(key.identity)) : [];
  return {
    input: {
      spec,
      runParams,
      trigger,
      startedBy: options.startedBy ?? userInfo().username,
      taskQueues: config.taskQueues,
      roles,
      ...(gates.length > 0 ? { approverKeys } : {}),
      codeVersion: sluiceVersion,
      ...(Object.keys(stepCodes).length > 0 ? { stepCodes } : {}),
      ...(localSteps.length > 0 ? { localSteps } : {}),
      ...(options.rerun ? { rerun: options.rerun } : {}),
      ...(options.event ? { event: options.event } : {}),
    },
    searchAttributes: [
      { key: SluicePipeline, value: spec.id },
      { key: SluiceStage, value: 'queued' },
      { key: SluiceTrigger, value: trigger },
      { key: SluiceApproval, value: 'none' },
    ],
  };
}

/**
 * Follow a run to its end, calling `onStep` whenever a step changes state, and return its final status.
 * Aborting `signal` stops following (the run goes on) and rejects with the abort.
 *
 * @throws SluiceError (RunFailedError) with the failing step and its cause as one line.
 */
export async function followRun(
  handle: WorkflowHandle<typeof dagWorkflow>,
  onStep: (step: StepStatus) => void,
  pollMs = 300,
  onGate?: (gate: ApprovalGateStatus, status: DagStatus) => void,
  signal?: AbortSignal,
): Promise<DagStatus> {
  // Aborting cancels the calls in flight, so the caller may close the connection at once after. Each
  // call gets its own signal (the client adds a listener per call and never removes it).
  const call = <R>(fn: () => Promise<R>): Promise<R> => {
    if (!signal) return fn();
    const own = new AbortController();
    // `result()` long-polls the run's history again every ~20 s while a run waits at a gate, and the
    // client adds a listener to this signal per poll: a run followed for minutes passed Node's limit of
    // 10 and printed a leak warning. They are one small closure per poll and go with this signal when
    // the call ends, so no limit; the signal is not shared with anything else.
    setMaxListeners(0, own.signal);
    const abort = () => own.abort(signal.reason);
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    return handle.client
      .withAbortSignal(own.signal, fn)
      .finally(() => signal.removeEventListener('abort', abort));
  };
  const seen = new Map<string, string>();
  const gatesSeen = new Set<string>();
  const report = (status: DagStatus) => {
    for (const step of status.steps) {
      if (seen.get(step.id) !== step.state) {
        seen.set(step.id, step.state);
        if (step.state !== 'pending') onStep(step);
      }
    }
    for (const gate of status.approvals ?? []) {
      if (gate.state === 'awaiting' && !gatesSeen.has(gate.step)) {
        gatesSeen.add(gate.step);
        onGate?.(gate, status);
      }
    }
  };
  let finished = false;
  // The wait between polls ends the moment the result arrives: the run's end is reported at once,
  // not up to `pollMs` later.
  let wake: (() => void) | undefined;
  const result = call(() => handle.result()).finally(() => {
    finished = true;
    wake?.();
  });
  const poll = (async () => {
    while (!finished) {
      try {
        const status = await call(() => handle.query<DagStatus>('status'));
        if (!finished) report(status);
      } catch {
        // not started yet, or no worker right now: keep waiting for the result
      }
      if (finished) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();
  try {
    const status = await result;
    report(status);
    return status;
  } catch (error) {
    if (error instanceof WorkflowFailedError) {
      const details = failureDetails(error.cause);
      if (details) report(details);
      throw new RunFailedError(`run ${handle.workflowId} failed: ${innermost(error)}`, {
        cause: error,
        details: { workflowId: handle.workflowId },
      });
    }
    throw error;
  } finally {
    finished = true;
    wake?.();
    // A status query still in flight is waited for (its answer is dropped): closing the connection
    // under it would leave its retry timer calling into a closed channel.
    await poll;
  }
}

/** A run was stopped by a gate: a result the CLI still reports as a non-zero exit. */
export class RunStoppedError extends SluiceError {
  readonly code = 'RUN_STOPPED';
  readonly retryable = false;
}

/** A run ended in failure; the message names the step and the cause. */
export class RunFailedError extends SluiceError {
  readonly code = 'RUN_FAILED';
  readonly retryable = false;
}

function innermost(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof TemporalFailure) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

function failureDetails(failure: unknown): DagStatus | undefined {
  const details = (failure as { details?: unknown[] } | undefined)?.details;
  const first = details?.[0] as DagStatus | undefined;
  return first && Array.isArray(first.steps) ? first : undefined;
}

/** Describe a run, or say in one line that there is no such run. */
export async function describeRun(
  handle: WorkflowHandle,
  runId: string,
  namespace: string,
): Promise<WorkflowExecutionDescription> {
  try {
    return await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) {
      throw new InvalidInputError(
        `no run "${runId}" in namespace ${namespace}: list runs with \`sluice runs\` or check the id`,
      );
    }
    throw error;
  }
}

/** Describe a run that must still be running, or say in one line why there is nothing to do. */
export async function describeRunningRun(
  handle: WorkflowHandle,
  runId: string,
  namespace: string,
  finished: string,
  consequence: string,
): Promise<WorkflowExecutionDescription> {
  const description = await describeRun(handle, runId, namespace);
  if (description.status.name !== 'RUNNING') {
    throw new InvalidInputError(
      `run ${runId} ${finished} (${description.status.name.toLowerCase()}): ${consequence}`,
    );
  }
  return description;
}

/**
 * Start a new run with the same spec and parameters as an earlier one, read from that run's history
 * (so it reruns exactly what ran, even if the pipeline file changed since). Cacheable steps before
 * `from` are served from the step cache; `from` and everything after it run again.
 *
 * @throws InvalidInputError when the run is not a pipeline run or has no step `from`.
 */
export async function startRerun(
  client: Client,
  config: SluiceConfig,
  runId: string,
  options: { from?: string; startedBy?: string; steps?: LoadedSteps } = {},
): Promise<WorkflowHandle<typeof dagWorkflow>> {
  const handle = client.workflow.getHandle(runId);
  const description = await describeRun(handle, runId, config.temporal.namespace);
  if (description.type !== 'dagWorkflow') {
    throw new InvalidInputError(
      `${runId} is a ${description.type}, not a pipeline run: only pipeline runs can be rerun`,
    );
  }
  const history = await handle.fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new InvalidInputError(`the history of ${runId} has no start input: it cannot be rerun`);
  const original = client.options.loadedDataConverter.payloadConverter.fromPayload<DagInput>(payload);
  const ids = original.spec.steps.map((step) => step.id);
  if (options.from !== undefined && !ids.includes(options.from)) {
    throw new InvalidInputError(
      `run ${runId} has no step "${options.from}": its steps are ${ids.join(', ')}`,
    );
  }
  return startRun(client, config, original.spec, {
    runParams: original.runParams,
    rerun: { of: runId, ...(options.from ? { from: options.from } : {}) },
    ...(options.startedBy ? { startedBy: options.startedBy } : {}),
    ...(options.steps ? { steps: options.steps } : {}),
  });
}
