import * as wf from '@temporalio/workflow';
import {
  decideBreach,
  retrainWorkflowId,
  type MonitorDecision,
  type MonitorInput,
  type MonitorResult,
} from '../pipelines/monitor.js';
import type { MonitorActivities } from '../activities/monitor.js';
import { SHORT_HEARTBEAT, SHORT_HEARTBEAT_PATCH } from './heartbeat.js';

/**
 * The drift activities: they heartbeat while they run (activities/boundary.ts), so a crashed worker
 * costs at most the heartbeat timeout. Histories from before the 20 s bound replay with their minute
 * (no marker); called inside the workflow, since a patch marker belongs to a run.
 */
function driftActivities(): Pick<MonitorActivities, 'measureModelDrift' | 'startRetraining'> {
  return wf.proxyActivities<MonitorActivities>({
    startToCloseTimeout: '10m',
    heartbeatTimeout: wf.patched(SHORT_HEARTBEAT_PATCH) ? SHORT_HEARTBEAT : '1m',
    retry: { maximumAttempts: 3 },
  });
}

// The webhook may be down for a while: retried with backoff, and the final failure is a recorded
// reason, never a failed monitor run.
const { sendMonitorAlert } = wf.proxyActivities<MonitorActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 5 },
});

/**
 * One look at a deployed model, run by a Temporal Schedule: an activity measures feature drift statistics
 * (and, from the prediction log, prediction drift and live accuracy) against the training reference;
 * this code applies the drift thresholds and decides the breach, so replaying the history re-derives
 * every verdict; on a breach it alerts and, under
 * the `retrain` policy, starts the pipeline with trigger `drift` under a workflow id derived from the
 * data — ten breaches on the same data start one retraining, which then waits at its approval gate
 * like any other run.
 */
export async function monitorWorkflow(input: MonitorInput): Promise<MonitorResult> {
  const { measureModelDrift, startRetraining } = driftActivities();
  const measurement = await measureModelDrift({ model: input.model, current: input.current });
  let decision: MonitorDecision;
  try {
    decision = decideBreach(measurement, input.policy, input);
  } catch (error) {
    throw wf.ApplicationFailure.nonRetryable(
      `monitor of "${input.model}": its drift thresholds are not valid (${String(error)}): fix them with \`sluice monitor create\``,
      'InvalidInputError',
    );
  }
  if (!decision.breach) {
    wf.log.info('no breach', { model: input.model, version: measurement.version });
    return { measurement, decision, alert: null, retraining: null };
  }

  let retraining: MonitorResult['retraining'] = null;
  if (input.policy.onBreach === 'retrain') {
    const workflowId = retrainWorkflowId(input.pipeline.id, measurement.current.sha256);
    retraining = await startRetraining({
      spec: input.pipeline,
      model: input.model,
      workflowId,
      source: measurement.current.source,
      reasons: decision.reasons,
    });
  }

  let alert: MonitorResult['alert'];
  try {
    const webhook = await sendMonitorAlert({
      model: input.model,
      version: measurement.version,
      reasons: decision.reasons,
      current: measurement.current,
      action: input.policy.onBreach,
      retrainWorkflowId: retraining?.workflowId ?? null,
    });
    alert = { sent: true, webhook };
  } catch (error) {
    const cause = error instanceof wf.ActivityFailure && error.cause ? error.cause.message : String(error);
    wf.log.warn('alert webhook failed after retries', { model: input.model, cause });
    alert = { sent: false, webhook: `failed after retries: ${cause}` };
  }
  return { measurement, decision, alert, retraining };
}
