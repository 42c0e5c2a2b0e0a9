import { defaultPayloadConverter } from '@temporalio/common';
import type { Command } from 'commander';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { DagInput } from '../../workflows/index.js';
import { connectClient } from '../client.js';
import { context } from '../commands/shared.js';
import { describeStep, describeStop, followRun, RunStoppedError, startRun } from '../runs.js';
import { describeRun } from '../runs.js';

export interface RerunOptions {
  from?: string;
  wait?: boolean;
  as?: string;
}

/**
 * `sluice rerun`: start a new run with the same spec and parameters as an earlier one, read from that
 * run's history (so it reruns exactly what ran, even if the pipeline file changed since). Cacheable
 * steps before `--from` are served from the step cache; `--from` and everything after it run again.
 */
export async function rerunAction(runId: string, options: RerunOptions, command: Command): Promise<void> {
  const { config, out } = context(command);
  const client = await connectClient(config);
  try {
    const handle = client.workflow.getHandle(runId);
    const description = await describeRun(handle, runId, config.temporal.namespace);
    if (description.type !== 'dagWorkflow') {
      throw new InvalidInputError(
        `${runId} is a ${description.type}, not a pipeline run: only pipeline runs can be rerun`,
      );
    }
    const history = await handle.fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload)
      throw new InvalidInputError(`the history of ${runId} has no start input: it cannot be rerun`);
    const original = defaultPayloadConverter.fromPayload<DagInput>(payload);
    const ids = original.spec.steps.map((step) => step.id);
    if (options.from !== undefined && !ids.includes(options.from)) {
      throw new InvalidInputError(
        `run ${runId} has no step "${options.from}": its steps are ${ids.join(', ')}`,
      );
    }
    const rerun = await startRun(client, config, original.spec, {
      runParams: original.runParams,
      rerun: { of: runId, ...(options.from ? { from: options.from } : {}) },
      ...(options.as ? { startedBy: options.as } : {}),
    });
    if (!options.wait) {
      out.result(
        { workflowId: rerun.workflowId, rerunOf: runId, from: options.from ?? null },
        () =>
          `started ${rerun.workflowId}, a rerun of ${runId}${options.from ? ` from ${options.from}` : ''}`,
      );
      return;
    }
    out.status(`started ${rerun.workflowId}, a rerun of ${runId}`);
    const status = await followRun(rerun, (step) =>
      out.status(
        `${describeStep(step)}${step.cache?.hit ? ` (cached, from ${step.cache.from ?? 'an earlier run'})` : ''}`,
      ),
    );
    out.result({ workflowId: rerun.workflowId, ...status }, () => `${rerun.workflowId} ${status.state}`);
    if (status.stoppedBy) throw new RunStoppedError(describeStop(rerun.workflowId, status.stoppedBy));
  } finally {
    await client.connection.close();
  }
}
