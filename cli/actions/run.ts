import type { Command } from 'commander';
import { parseParamFlags, resolveRunParams } from '../../pipelines/params.js';
import { connectClient } from '../../client/connect.js';
import { loadStepModules } from '../../pipelines/step-modules.js';
import { describeOpenGate } from '../approval-view.js';
import { cancelRun } from '../../client/run-queries.js';
import { describeStep, describeStop, followRun, RunStoppedError, startRun } from '../../client/runs.js';
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
