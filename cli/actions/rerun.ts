import type { Command } from 'commander';
import { connectClient } from '../../client/connect.js';
import { context } from '../commands/shared.js';
import { loadStepModules } from '../../pipelines/step-modules.js';
import { describeStep, describeStop, followRun, RunStoppedError, startRerun } from '../../client/runs.js';

export interface RerunOptions {
  from?: string;
  wait?: boolean;
  as?: string;
  steps: string[];
}

/**
 * `sluice rerun`: start a new run with the same spec and parameters as an earlier one, read from that
 * run's history (so it reruns exactly what ran, even if the pipeline file changed since). Cacheable
 * steps before `--from` are served from the step cache; `--from` and everything after it run again.
 */
export async function rerunAction(runId: string, options: RerunOptions, command: Command): Promise<void> {
  const { config, out } = context(command);
  const steps = await loadStepModules([...config.steps, ...options.steps]);
  const client = await connectClient(config);
  try {
    const rerun = await startRerun(client, config, runId, {
      steps,
      ...(options.from ? { from: options.from } : {}),
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
