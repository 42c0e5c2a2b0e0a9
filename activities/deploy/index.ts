import type { ArtifactLocation } from '../../lib/artifacts/location.js';
import { log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { describeModel, promoteModel, setModelTraffic } from '../../client/registry.js';
import type { DeployObservation, InfraReport, ServingSnapshot } from '../../pipelines/deploy-rules.js';
import { DependencyUnavailableError } from '../../pipelines/errors.js';
import { mirrorPredictionLog, sharedLogsFor } from '../../lib/shared-logs.js';
import type { PromoteResult, SetTrafficResult } from '../../pipelines/registry.js';
import { withFailureBoundary } from '../boundary.js';
import { validateModelInfra, type InfraValidationRequest } from './infra-validation.js';
import { observeDeployment, type ObserveRequest } from './observe-deployment.js';
import { awaitReplicaTraffic, type ReplicaTrafficRequest } from './replica-traffic.js';
import { snapshotServingMetrics, type SnapshotRequest } from './serving-metrics.js';

/** What the deploy activities need from the composition root. */
export interface DeployActivityDeps {
  home: string;
  /** `SLUICE_ARTIFACTS`: where the artifact store is; absent: `<home>/artifacts`. */
  artifacts?: ArtifactLocation | undefined;
  dataRoots: readonly string[];
  /** Reaches the model registry; absent only in unit tests, where the activities say so. */
  client?: Client | undefined;
  /** Where `sluice serve` writes its prediction log (`SLUICE_PREDICTION_LOG_DIR`). */
  predictionLogDir: string;
}

/** Promote a deployed version on the strength of the run that approved it. */
export interface PromoteDeploymentRequest {
  model: string;
  version: number;
  /** The approved run's workflow id: the registry checks the version came from it. */
  approvedRun: string;
  by: string;
  reason: string;
}

/** Set the candidate's traffic on the strength of the run that approved it. */
export interface DeploymentTrafficRequest {
  model: string;
  version: number;
  canaryPercent: number;
  shadow: boolean;
  approvedRun: string;
  by: string;
  reason: string;
}

/**
 * The activities of the deploy child workflow (`workflows/deploy.ts`). They measure and act; the
 * workflow decides. Workflows cannot send updates to the registry workflow, so promotion goes through
 * here with the injected client; the registry answers `unchanged` when the version already is
 * production, so a retried promotion is a no-op.
 */
export function createDeployActivities(deps: DeployActivityDeps) {
  const client = (what: string): Client => {
    if (!deps.client) {
      throw new DependencyUnavailableError(
        `${what} needs a Temporal client to reach the model registry: run it on a worker started by \`sluice worker\` or \`sluice dev\``,
      );
    }
    return deps.client;
  };
  const boundary = withFailureBoundary;
  return {
    /** Load the candidate as serving would and score its test split; see {@link validateModelInfra}. */
    validateModelInfra: boundary((request: InfraValidationRequest): Promise<InfraReport> =>
      validateModelInfra({ ...deps, client: client('validateModelInfra') }, request),
    ),

    /** The registry's production version now (null before the first promotion). */
    productionVersion: boundary(
      async (model: string): Promise<number | null> =>
        (await describeModel(client('productionVersion'), model)).aliases.production,
    ),

    /**
     * The prediction log over the observation window; see {@link observeDeployment}. With an S3 store
     * the replicas publish their logs there (each on its own machine), so this worker reads a mirror.
     */
    observeDeployment: boundary(async (request: ObserveRequest): Promise<DeployObservation> => {
      const shared = deps.artifacts ? sharedLogsFor(deps.artifacts) : undefined;
      const logDir = shared
        ? await mirrorPredictionLog(shared, deps.home, request.model)
        : deps.predictionLogDir;
      return observeDeployment(logDir, request);
    }),

    /** The serving replicas' counters for one model; see {@link snapshotServingMetrics}. */
    snapshotServingMetrics: boundary((request: SnapshotRequest): Promise<ServingSnapshot> =>
      snapshotServingMetrics(request),
    ),

    /** Set the candidate's split in the registry, which every serving replica applies on its next poll. */
    setDeploymentTraffic: boundary(async (request: DeploymentTrafficRequest): Promise<SetTrafficResult> => {
      const result = await setModelTraffic(client('setDeploymentTraffic'), request.model, {
        version: request.version,
        canaryPercent: request.canaryPercent,
        shadow: request.shadow,
        by: request.by,
        reason: request.reason,
        authorisedBy: 'approved-run',
        approvedRun: request.approvedRun,
      });
      log.info('deploy traffic set', { model: request.model, ...result.traffic });
      return result;
    }),

    /** What each serving replica runs once the split is set; see {@link awaitReplicaTraffic}. */
    awaitReplicaTraffic: boundary((request: ReplicaTrafficRequest) => awaitReplicaTraffic(request)),

    /** Promote through the registry, authorised by the approved run (`authorisedBy: 'approved-run'`). */
    promoteDeployment: boundary(async (request: PromoteDeploymentRequest): Promise<PromoteResult> => {
      const result = await promoteModel(client('promoteDeployment'), request.model, {
        version: request.version,
        by: request.by,
        reason: request.reason,
        authorisedBy: 'approved-run',
        approvedRun: request.approvedRun,
      });
      log.info('deploy promoted', {
        model: request.model,
        version: request.version,
        outcome: result.outcome,
      });
      return result;
    }),
  };
}

export type DeployActivities = ReturnType<typeof createDeployActivities>;
