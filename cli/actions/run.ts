import type { Command } from 'commander';
import { InvalidInputError } from '../../pipelines/errors.js';
import { parseParamFlags, resolveRunParams } from '../../pipelines/params.js';
import { connectClient } from '../../client/connect.js';
import { loadStepModules } from '../../pipelines/step-modules.js';
import { describeOpenGate } from '../approval-view.js';
import { table } from '../output.js';
import { cancelRun, listRuns, runReport, runsQuery } from '../../client/run-queries.js';
import {
  describeStep,
  describeStop,
  followRun,
  RunStoppedError,
  startRun,
  stepWarnings,
} from '../../client/runs.js';
import { context } from '../commands/shared.js';

export interface RunOptions {
  param: string[];
  wait?: boolean;
  as?: string;
  steps: string[];
}

export async function runAction(ref: string, options: RunOptions, command: Command): Promise<void> {
  const { config, out } = context(command);
  // Imported here, not at the top: `runs`, `status` and `cancel` (same module) never read the catalog.
  const { loadPipeline } = await import('../../pipelines/catalog.js');
  const spec = await loadPipeline(ref);
  const runParams = resolveRunParams(spec, parseParamFlags(options.param));
  const steps = await loadStepModules([...config.steps, ...options.steps]);
  const client = await connectClient(config);
  try {
    const handle = await startRun(client, config, spec, {
      runParams,
      steps,
      ...(options.as ? { startedBy: options.as } : {}),
    });
    if (!options.wait) {
      out.result({ workflowId: handle.workflowId, pipeline: spec.id, runParams }, () =>
        [`started ${handle.workflowId}`, `follow it with: npx sluice status ${handle.workflowId}`].join('\n'),
      );
      return;
    }
    out.status(`started ${handle.workflowId}`);
    const started = Date.now();
    const status = await followRun(
      handle,
      (step) => out.status(describeStep(step)),
      300,
      (gate, now) => describeOpenGate(handle.workflowId, now, gate).forEach((line) => out.status(line)),
    );
    out.result(
      { workflowId: handle.workflowId, ...status },
      () => `${handle.workflowId} ${status.state} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    if (status.stoppedBy) throw new RunStoppedError(describeStop(handle.workflowId, status.stoppedBy));
  } finally {
    await client.connection.close();
  }
}

export async function statusAction(runId: string, command: Command): Promise<void> {
  const { config, out } = context(command);
  const client = await connectClient(config);
  try {
    const report = await runReport(client, config.temporal.namespace, runId);
    const { status } = report;
    out.result(report, () => {
      const head = `${runId}  ${report.temporalState}  started ${report.startTime.toISOString()}`;
      if (!status) return `${head}\n(step details need a running worker: start one with npx sluice worker)`;
      const rows = [['step', 'state', 'attempt', 'ms', 'detail']].concat(
        status.steps.map((s) => [
          s.id,
          s.state,
          String(s.attempt ?? ''),
          String(s.durationMs ?? ''),
          s.error?.message ??
            s.skippedReason ??
            (s.cache?.hit ? `cached (from ${s.cache.from ?? 'an earlier run'})` : ''),
        ]),
      );
      const awaiting = status.approvals
        .filter((g) => g.state === 'awaiting')
        .flatMap((g) => describeOpenGate(runId, status, g));
      const refused = status.approvals
        .flatMap((g) => g.refused)
        .concat(status.refusedApprovals)
        .map((r) => `refused ${r.approver} (${r.decision}, ${r.channel}): ${r.reason}`);
      const warnings = status.steps.flatMap((s) => stepWarnings(s).map((w) => `warning at ${s.id}: ${w}`));
      const gates = status.gates.map(
        (g) => `gate ${g.gate} at ${g.step}: ${g.passed ? 'passed' : 'REFUSED'} — ${g.reasons.join('; ')}`,
      );
      return [
        head,
        `pipeline ${status.pipeline} · ${status.state} · started by ${status.startedBy} (${status.trigger})`,
        table(rows),
        ...warnings,
        ...gates,
        ...awaiting,
        ...refused,
      ].join('\n');
    });
  } finally {
    await client.connection.close();
  }
}

export interface RunsOptions {
  awaitingApproval?: boolean;
  pipeline?: string;
  model?: string;
  limit: string;
}

/** `sluice runs`: recent runs through a visibility query on Sluice's search attributes. */
export async function runsAction(options: RunsOptions, command: Command): Promise<void> {
  const { config, out } = context(command);
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new InvalidInputError(`--limit must be a positive integer, got "${options.limit}"`);
  const filter = { ...options, limit };
  const query = runsQuery(filter);
  const client = await connectClient(config);
  try {
    const runs = await listRuns(client, filter);
    out.result({ query, runs }, () =>
      runs.length === 0
        ? `no runs match ${query}`
        : table([
            ['run', 'pipeline', 'status', 'stage', 'approval', 'trigger', 'started'],
            ...runs.map((r) =>
              [r.workflowId, r.pipeline, r.status, r.stage, r.approval, r.trigger, r.startTime].map(
                (c) => c ?? '',
              ),
            ),
          ]),
    );
  } finally {
    await client.connection.close();
  }
}

/** `sluice cancel`: request cancellation; running steps are cancelled, the run ends `cancelled`. */
export async function cancelAction(runId: string, command: Command): Promise<void> {
  const { config, out } = context(command);
  const client = await connectClient(config);
  try {
    await cancelRun(client, config.temporal.namespace, runId);
    out.result(
      { workflowId: runId, cancelRequested: true },
      () => `cancellation requested for ${runId}; running steps are being cancelled`,
    );
  } finally {
    await client.connection.close();
  }
}
