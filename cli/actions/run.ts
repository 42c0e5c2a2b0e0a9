import { WorkflowNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import { loadPipeline } from '../../pipelines/catalog.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { parseParamFlags, resolveRunParams } from '../../pipelines/params.js';
import type { DagStatus } from '../../workflows/index.js';
import { connectClient } from '../client.js';
import { table } from '../output.js';
import { describeStep, describeStop, followRun, RunStoppedError, startRun } from '../runs.js';
import { context } from '../commands/shared.js';

export interface RunOptions {
  param: string[];
  wait?: boolean;
  as?: string;
}

export async function runAction(ref: string, options: RunOptions, command: Command): Promise<void> {
  const { config, out } = context(command);
  const spec = await loadPipeline(ref);
  const runParams = resolveRunParams(spec, parseParamFlags(options.param));
  const client = await connectClient(config);
  try {
    const handle = await startRun(client, config, spec, {
      runParams,
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
    const status = await followRun(handle, (step) => out.status(describeStep(step)));
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
    const handle = client.workflow.getHandle(runId);
    let description;
    try {
      description = await handle.describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) {
        throw new InvalidInputError(
          `no run "${runId}" in namespace ${config.temporal.namespace}: list runs in the Web UI or check the id`,
        );
      }
      throw error;
    }
    const temporalState = description.status.name;
    let status: DagStatus | undefined;
    try {
      status = await client.connection.withDeadline(Date.now() + 5_000, () =>
        handle.query<DagStatus>('status'),
      );
    } catch {
      // no worker to answer the query right now: report what the server knows
    }
    out.result(
      {
        workflowId: runId,
        temporalState,
        startTime: description.startTime,
        closeTime: description.closeTime ?? null,
        status: status ?? null,
      },
      () => {
        const head = `${runId}  ${temporalState}  started ${description.startTime.toISOString()}`;
        if (!status) return `${head}\n(step details need a running worker: start one with npx sluice worker)`;
        const rows = [['step', 'state', 'attempt', 'ms', 'detail']].concat(
          status.steps.map((s) => [
            s.id,
            s.state,
            String(s.attempt ?? ''),
            String(s.durationMs ?? ''),
            s.error?.message ?? '',
          ]),
        );
        const gates = status.gates.map(
          (g) => `gate ${g.gate} at ${g.step}: ${g.passed ? 'passed' : 'REFUSED'} — ${g.reasons.join('; ')}`,
        );
        return [
          head,
          `pipeline ${status.pipeline} · ${status.state} · started by ${status.startedBy} (${status.trigger})`,
          table(rows),
          ...gates,
        ].join('\n');
      },
    );
  } finally {
    await client.connection.close();
  }
}
