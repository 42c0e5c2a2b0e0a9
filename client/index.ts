import type { Client, WorkflowHandle } from '@temporalio/client';
import type { SluiceConfig } from '../lib/config.js';
import type { MonitorInput } from '../pipelines/monitor.js';
import { resolveRunParams, type ParamValue } from '../pipelines/params.js';
import type {
  PromoteResult,
  RegistryDescription,
  RegistryEvent,
  RollbackResult,
} from '../pipelines/registry.js';
import { promoterRole } from '../pipelines/registry.js';
import type { PipelineSpec } from '../pipelines/spec.js';
import type { DagStatus, StepStatus, dagWorkflow } from '../workflows/index.js';
import { submitDecision, type DecisionOutcome } from './approvals.js';
import { connectClient } from './connect.js';
import { createMonitorSchedule, deleteMonitorSchedule } from './monitors.js';
import {
  answered,
  describeModel,
  listModels,
  modelHistory,
  promoteModel,
  rollbackModel,
  type ModelSummary,
} from './registry.js';
import { loadRoles } from './roles.js';
import {
  cancelRun,
  listRuns,
  runReport,
  type RunFilter,
  type RunReport,
  type RunSummary,
} from './run-queries.js';
import {
  followRun,
  startRerun,
  startRun,
  triggerOnData,
  type TriggerInput,
  type TriggerResult,
} from './runs.js';
import {
  createPipelineSchedule,
  listSchedules,
  steerSchedule,
  type PipelineScheduleOptions,
  type ScheduleSummary,
  type ScheduleVerb,
} from './schedules.js';

export type { DecisionOutcome } from './approvals.js';
export type { ModelSummary } from './registry.js';
export type { RunFilter, RunReport, RunSummary } from './run-queries.js';
export type { TriggerInput, TriggerResult } from './runs.js';
export type { ScheduleSummary, ScheduleVerb } from './schedules.js';
export { RunFailedError, RunStoppedError } from './runs.js';
export { RegistryRefusedError } from './registry.js';

/** A run that was started: its id, and a way to wait for its end. */
export interface RunHandle {
  runId: string;
  /**
   * Follow the run to its end (a stopped run — a gate said no — is a result, not an error).
   *
   * @throws RunFailedError naming the failing step and its cause.
   */
  result(onStep?: (step: StepStatus) => void): Promise<DagStatus>;
}

export interface RunOptions {
  /** Who starts the run (separation of duties compares it with approvers); default: the OS user. */
  startedBy?: string;
  /** A workflow id of your own; default `<pipeline>-<time>-<random>`. */
  runId?: string;
}

export interface DecisionOptions {
  /** The approver's identity. */
  as: string;
  comment?: string;
  /** The model version the approver looked at (needed when no worker answers). */
  modelVersion?: string;
  /** Send as the durable `approval` signal instead of the update. */
  signal?: boolean;
}

/**
 * The control plane as a library: what the `sluice` command does, callable from a script or a
 * notebook. Every method talks to Temporal only (no worker in this process); decisions are still made
 * by workflow code, so the same policy holds whoever calls.
 */
export class SluiceClient {
  constructor(
    /** The Temporal client underneath, for anything Sluice does not wrap. */
    readonly temporal: Client,
    readonly config: SluiceConfig,
  ) {}

  /** Start a run of `pipeline` with `params` (checked against its declared parameters). */
  async run(
    pipeline: PipelineSpec,
    params: Record<string, ParamValue> = {},
    options: RunOptions = {},
  ): Promise<RunHandle> {
    const handle = await startRun(this.temporal, this.config, pipeline, {
      runParams: resolveRunParams(
        pipeline,
        Object.fromEntries(Object.entries(params).map(([name, value]) => [name, String(value)])),
      ),
      ...(options.startedBy ? { startedBy: options.startedBy } : {}),
      ...(options.runId ? { workflowId: options.runId } : {}),
    });
    return this.#runHandle(handle);
  }

  /** A handle on an existing run, to wait for its end. */
  getRun(runId: string): RunHandle {
    return this.#runHandle(this.temporal.workflow.getHandle<typeof dagWorkflow>(runId));
  }

  /** Rerun an earlier run with its recorded spec and parameters; steps from `from` on skip the cache. */
  async rerun(runId: string, options: { from?: string; startedBy?: string } = {}): Promise<RunHandle> {
    return this.#runHandle(await startRerun(this.temporal, this.config, runId, options));
  }

  /** A run's steps, gates and approvals (the workflow's own status when a worker answers). */
  status(runId: string): Promise<RunReport> {
    return runReport(this.temporal, this.config.temporal.namespace, runId);
  }

  /** Recent runs, newest first. */
  runs(filter: RunFilter = {}): Promise<RunSummary[]> {
    return listRuns(this.temporal, filter);
  }

  /** Request cancellation of a running run. */
  cancel(runId: string): Promise<void> {
    return cancelRun(this.temporal, this.config.temporal.namespace, runId);
  }

  /** Approve the model a run waits on; the gate's policy accepts or refuses (and records either). */
  approve(runId: string, options: DecisionOptions): Promise<DecisionOutcome> {
    return this.#decide(runId, 'approve', options);
  }

  /** Reject the model a run waits on. */
  reject(runId: string, options: DecisionOptions): Promise<DecisionOutcome> {
    return this.#decide(runId, 'reject', options);
  }

  /** Start a run because new data arrived: one run per pipeline and data hash. */
  trigger(pipeline: PipelineSpec, input: TriggerInput): Promise<TriggerResult> {
    return triggerOnData(this.temporal, this.config, pipeline, input);
  }

  /** Every model in the registry. */
  models(): Promise<ModelSummary[]> {
    return listModels(this.temporal);
  }

  /** One model's versions, lineage and aliases. */
  model(name: string): Promise<RegistryDescription> {
    return answered(this.temporal, this.config, name, 'query', () => describeModel(this.temporal, name));
  }

  /** One model's event log: registrations, promotions, rollbacks and refusals. */
  modelHistory(name: string): Promise<RegistryEvent[]> {
    return answered(this.temporal, this.config, name, 'query', () => modelHistory(this.temporal, name));
  }

  /** Promote a version to production as a member of the promoter role (roles file). */
  async promote(
    model: string,
    version: number,
    options: { as: string; reason: string },
  ): Promise<PromoteResult> {
    const roleMembers = (await loadRoles(this.config))[promoterRole] ?? [];
    return answered(this.temporal, this.config, model, 'update', () =>
      promoteModel(this.temporal, model, {
        version,
        by: options.as,
        reason: options.reason,
        authorisedBy: `role:${promoterRole}`,
        roleMembers,
      }),
    );
  }

  /** Put the previous production version back. */
  async rollback(model: string, options: { as: string; reason: string }): Promise<RollbackResult> {
    const roleMembers = (await loadRoles(this.config))[promoterRole] ?? [];
    return answered(this.temporal, this.config, model, 'update', () =>
      rollbackModel(this.temporal, model, {
        by: options.as,
        reason: options.reason,
        authorisedBy: `role:${promoterRole}`,
        roleMembers,
      }),
    );
  }

  /** Pipeline schedules (Temporal Schedules). */
  readonly schedules = {
    create: (pipeline: PipelineSpec, options: PipelineScheduleOptions): Promise<string> =>
      createPipelineSchedule(this.temporal, this.config, pipeline, options),
    list: (): Promise<ScheduleSummary[]> => listSchedules(this.temporal),
    steer: (pipeline: string, verb: ScheduleVerb, options?: { from?: string; to?: string; note?: string }) =>
      steerSchedule(this.temporal, pipeline, verb, options),
  };

  /** Drift monitors (a schedule of `monitorWorkflow` per model). */
  readonly monitors = {
    create: (input: MonitorInput, everyMs: number): Promise<string> =>
      createMonitorSchedule(this.temporal, this.config, input, everyMs),
    delete: (model: string): Promise<string> => deleteMonitorSchedule(this.temporal, model),
  };

  /** Close the connection to Temporal. */
  close(): Promise<void> {
    return this.temporal.connection.close();
  }

  #decide(runId: string, decision: 'approve' | 'reject', options: DecisionOptions): Promise<DecisionOutcome> {
    return submitDecision(this.temporal, this.config.temporal.namespace, runId, {
      approver: options.as,
      decision,
      ...(options.modelVersion ? { modelVersion: options.modelVersion } : {}),
      ...(options.comment ? { comment: options.comment } : {}),
      ...(options.signal ? { signal: true } : {}),
    });
  }

  #runHandle(handle: WorkflowHandle<typeof dagWorkflow>): RunHandle {
    return {
      runId: handle.workflowId,
      result: (onStep) => followRun(handle, onStep ?? (() => undefined)),
    };
  }
}

/**
 * Connect to Temporal with a parsed configuration (the package root's `createClient()` reads it from
 * the environment; this layer never touches `process.env`).
 *
 * @throws DependencyUnavailableError naming the address and the fix when Temporal does not answer.
 */
export async function openClient(config: SluiceConfig): Promise<SluiceClient> {
  return new SluiceClient(await connectClient(config), config);
}
