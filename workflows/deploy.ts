import * as wf from '@temporalio/workflow';
import type { DeployActivities } from '../activities/deploy/index.js';
import type { DeploySpec } from '../pipelines/deploy.js';
import type { RegistryTraffic } from '../pipelines/registry.js';
import {
  decideInfra,
  decideObservation,
  deployStages,
  type ReplicaTraffic,
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
import { SHORT_HEARTBEAT, SHORT_HEARTBEAT_PATCH } from './heartbeat.js';

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
  /** Each observed stage of a steered canary or shadow (one for an unstaged one), in order. */
  stages: { percent: number; observe: string; decision: DeployDecision }[];
  /** Every traffic split the deploy set in the registry, in order (the last is what serving runs). */
  traffic: RegistryTraffic[];
  /** With `metricsUrls`: what each replica reported running after the last traffic change. */
  replicas: ReplicaTraffic[] | null;
}

function failureMessage(error: wf.ActivityFailure): string {
  return error.cause?.message ?? error.message;
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
    // The activities heartbeat while they run (activities/boundary.ts): a crashed worker costs at most
    // the heartbeat timeout. Histories from before the 20 s bound replay with their minute (no marker).
    heartbeatTimeout: wf.patched(SHORT_HEARTBEAT_PATCH) ? SHORT_HEARTBEAT : '1m',
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
    stages: [],
    traffic: [],
    replicas: null,
  };
  if (!infra.decision.passed) {
    wf.log.warn('deploy refused by infra validation', { model, version, reasons: infra.decision.reasons });
    return done(result);
  }

  if (spec.strategy !== 'direct') {
    // Histories from before traffic steering replay without it (no marker); new deploys steer.
    const steer = spec.steer !== false && wf.patched('deploy-steers-traffic');
    const stages = steer ? deployStages(spec) : [{ percent: spec.percent, observe: spec.observe }];
    const steerTo = async (canaryPercent: number, shadow: boolean, why: string): Promise<boolean> => {
      phase = 'steering';
      try {
        const set = await acts.setDeploymentTraffic({
          model,
          version,
          canaryPercent,
          shadow,
          approvedRun: input.stepInput.run.workflowId,
          by: `run:${input.stepInput.run.workflowId}`,
          reason: `${spec.strategy} deploy by step "${input.step}": ${why}`,
        });
        result.traffic.push(set.traffic);
      } catch (error) {
        if (!(error instanceof wf.ActivityFailure)) throw error;
        result.reasons.push(`the registry refused the traffic change: ${failureMessage(error)}`);
        return false;
      }
      if (spec.metricsUrls.length > 0) {
        const replicas = await acts.awaitReplicaTraffic({
          urls: spec.metricsUrls,
          model,
          version,
          canaryPercent,
          shadow,
        });
        result.replicas = replicas;
        for (const r of replicas.filter((r) => !r.applied)) result.reasons.push(r.note);
      }
      return true;
    };
    for (const [index, stage] of stages.entries()) {
      const canaryPercent = spec.strategy === 'canary' ? stage.percent : 0;
      const label = stages.length > 1 ? `stage ${index + 1} of ${stages.length} (${canaryPercent} %)` : null;
      if (steer) {
        const why = spec.strategy === 'shadow' ? 'shadow on' : `canary ${canaryPercent} %`;
        if (!(await steerTo(canaryPercent, spec.strategy === 'shadow', label ?? why))) {
          result.outcome = 'refused';
          return done(result);
        }
      }
      phase = label ? `observing ${label}` : 'observing';
      const from = Date.now();
      const windowMs = parseDuration(stage.observe, `step "${input.step}" deploy.observe`);
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
      result.serving = before && after && serving ? { before, after, ...serving } : null;
      result.decision = decision;
      result.reasons.push(...decision.reasons.map((r) => (label ? `${label}: ${r}` : r)));
      if (steer) result.stages.push({ percent: canaryPercent, observe: stage.observe, decision });
      if (!decision.passed) {
        result.outcome = 'rolled-back';
        wf.log.warn('deploy rolled back', { model, version, stage: index + 1, reasons: decision.reasons });
        if (steer) await steerTo(0, false, `rolled back: ${decision.reasons.join('; ')}`);
        return done(result);
      }
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
