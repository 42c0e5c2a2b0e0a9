import * as wf from '@temporalio/workflow';
import type { DeployActivities } from '../activities/deploy/index.js';
import type { DeploySpec } from '../pipelines/deploy.js';
import {
  decideInfra,
  decideObservation,
  type DeployDecision,
  type DeployObservation,
  type InfraReport,
  type ServingSnapshot,
  type ServingWindow,
  servingWindow,
} from '../pipelines/deploy-rules.js';
import { parseDuration } from '../pipelines/duration.js';
import type { JsonObject, JsonValue } from '../pipelines/json.js';
import type { StepInput } from '../pipelines/step.js';

/** The arguments of a deploy: the step's spec and input (the register step's `{ model, version }`). */
export interface DeployInput {
  step: string;
  deploy: DeploySpec;
  stepInput: StepInput;
  /** The orchestration queue, where the deploy activities run. */
  taskQueue: string;
}

/** How a deploy ended: only `promoted` and `unchanged` leave the candidate in production. */
export type DeployOutcome = 'promoted' | 'unchanged' | 'refused' | 'rolled-back';

export interface DeployResult {
  model: string;
  version: number;
  strategy: DeploySpec['strategy'];
  outcome: DeployOutcome;
  /** Production when the deploy began (null for a model's first deployment). */
  productionBefore: number | null;
  infra: { report: InfraReport; decision: DeployDecision };
  observation: DeployObservation | null;
  /** With `metricsUrls`: the serving counters as the window opened and closed. */
  serving: {
    before: ServingSnapshot;
    after: ServingSnapshot;
    candidate: ServingWindow;
    production: ServingWindow | null;
  } | null;
  /** The canary / shadow decision (null for `direct`, or when infra validation refused). */
  decision: DeployDecision | null;
  reasons: string[];
}

/** Where the deploy is now, for `sluice status` on the child. */
export const deployStatusQuery = wf.defineQuery<{ phase: string; observeUntil: string | null }>('status');

/**
 * Deploy a registered, approved version (a child workflow of its run, one per deploy step): infra
 * validation first, then the strategy — `direct` promotes at once; `canary` and `shadow` wait out the
 * observation window durably (a timer in history, so a worker restart costs nothing), compare the
 * candidate's logged predictions with production's, and promote or roll back. Rolling back means not
 * promoting: production is never touched. Every decision is computed here from activity results, so a
 * replay re-derives it, and the promotion is an activity result in history, so it is never repeated.
 */
export async function deployWorkflow(input: DeployInput): Promise<JsonObject> {
  const acts = wf.proxyActivities<DeployActivities>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: '10m',
    // The activities heartbeat while they run (activities/boundary.ts): a crashed worker costs a minute.
    heartbeatTimeout: '1m',
    retry: { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  });
  const { model, version } = registeredVersion(input);
  const spec = input.deploy;
  let phase = 'infra-validation';
  let observeUntil: string | null = null;
  wf.setHandler(deployStatusQuery, () => ({ phase, observeUntil }));

  const productionBefore = await acts.productionVersion(model);
  const report = await acts.validateModelInfra({ model, version, sampleRows: spec.infra.sampleRows });
  const infra = { report, decision: decideInfra(report, spec) };
  const result: DeployResult = {
    model,
    version,
    strategy: spec.strategy,
    outcome: 'refused',
    productionBefore,
    infra,
    observation: null,
    serving: null,
    decision: null,
    reasons: [...infra.decision.reasons],
  };
  if (!infra.decision.passed) {
    wf.log.warn('deploy refused by infra validation', { model, version, reasons: infra.decision.reasons });
    return done(result);
  }

  if (spec.strategy !== 'direct') {
    phase = 'observing';
    const from = Date.now();
    const windowMs = parseDuration(spec.observe, `step "${input.step}" deploy.observe`);
    observeUntil = new Date(from + windowMs).toISOString();
    const scrape = { urls: spec.metricsUrls, model };
    const before = spec.metricsUrls.length > 0 ? await acts.snapshotServingMetrics(scrape) : null;
    await wf.sleep(windowMs);
    phase = 'comparing';
    const after = before ? await acts.snapshotServingMetrics(scrape) : null;
    const observation = await acts.observeDeployment({
      model,
      candidateVersion: version,
      productionVersion: productionBefore,
      from,
      to: Date.now(),
    });
    const serving =
      before && after
        ? {
            candidate: servingWindow(before, after, version),
            production: productionBefore === null ? null : servingWindow(before, after, productionBefore),
          }
        : null;
    const decision = decideObservation(observation, spec, serving);
    result.observation = observation;
    if (before && after && serving) result.serving = { before, after, ...serving };
    result.decision = decision;
    result.reasons.push(...decision.reasons);
    if (!decision.passed) {
      result.outcome = 'rolled-back';
      wf.log.warn('deploy rolled back', { model, version, reasons: decision.reasons });
      return done(result);
    }
  }

  phase = 'promoting';
  const promotion = await acts.promoteDeployment({
    model,
    version,
    approvedRun: input.stepInput.run.workflowId,
    by: `run:${input.stepInput.run.workflowId}`,
    reason:
      spec.strategy === 'direct'
        ? `direct deploy by step "${input.step}" after infra validation`
        : `${spec.strategy} deploy by step "${input.step}": ${result.reasons.join('; ')}`,
  });
  result.outcome = promotion.outcome;
  return done(result);

  function done(final: DeployResult): JsonObject {
    phase = final.outcome;
    return final as unknown as JsonObject;
  }
}

/** The `{ model, version }` a needed step (the register step) produced. */
function registeredVersion(input: DeployInput): { model: string; version: number } {
  for (const output of Object.values(input.stepInput.inputs)) {
    const value = output as Record<string, JsonValue> | null;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const { model, version } = value;
    if (typeof model === 'string' && typeof version === 'number') return { model, version };
  }
  throw wf.ApplicationFailure.nonRetryable(
    `deploy step "${input.step}" needs a registered version: depend on a registerModel step, whose output carries { model, version }`,
    'InvalidInputError',
  );
}
