import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { runStart } from '../client/runs.js';
import { driftOptionsSchema, type FeatureStatistics } from '../pipelines/drift.js';
import { DependencyUnavailableError, InvalidInputError } from '../pipelines/errors.js';
import type { ArtifactRef } from '../pipelines/artifact.js';
import type { ModelManifest } from '../pipelines/model.js';
import type { MonitorAlert, MonitorCurrent, MonitorMeasurement } from '../pipelines/monitor.js';
import { registryWorkflowId, type RegistryDescription } from '../pipelines/registry.js';
import type { PipelineSpec } from '../pipelines/spec.js';
import type { SluiceConfig } from '../lib/config.js';
import { describeQuery } from '../workflows/registry.js';
import { readLabeledPredictions } from '../lib/feedback-log.js';
import { mirrorPredictionLog, sharedLogsFor } from '../lib/shared-logs.js';
import { createArtifactStore } from '../lib/artifacts/index.js';
import { withFailureBoundary } from './boundary.js';
import { resolveDataset } from './data-inputs.js';
import { detectDrift } from './drift/detect-drift.js';
import { writeFileAtomic } from '../lib/fs-atomic.js';
import { sha256File } from '../lib/hash.js';
import { liveAccuracy } from './live-performance.js';
import { modelInputNames, predictedValue, predictionColumn, writeModelInputs } from './monitor-data.js';

/** What the monitor activities need from the composition root. */
export interface MonitorDeps {
  config: SluiceConfig;
  client: Client;
  /** `SLUICE_ALERT_WEBHOOK`: breaches are POSTed here as JSON when set. */
  alertWebhook?: string | undefined;
}

/** What to measure; no thresholds: the monitor workflow applies them to what this returns. */
export interface MeasureInput {
  model: string;
  current: MonitorCurrent;
}

export interface RetrainInput {
  spec: PipelineSpec;
  model: string;
  workflowId: string;
  /** The drifted data to retrain on; null keeps the pipeline's own source. */
  source: string | null;
  reasons: string[];
}

/**
 * The monitor workflow's side effects: measure drift against the training reference, start a
 * retraining run, alert. Each returns small JSON; decisions stay in the workflow.
 */
export function createMonitorActivities(deps: MonitorDeps) {
  const store = createArtifactStore(deps.config.home, deps.config.artifacts);
  const guard = withFailureBoundary;

  return {
    /**
     * Feature drift statistics (no verdicts) of the recent data (a file, or the model's prediction log) against the dataset the
     * watched version was trained on — found through its registry lineage and model manifest — with the
     * data-plane drift code; from the log also prediction drift (what the model says vs the training
     * labels) and live accuracy where logged predictions have labels.
     */
    measureModelDrift: guard(async (input: MeasureInput): Promise<MonitorMeasurement> => {
      const registry = await deps.client.workflow
        .getHandle(registryWorkflowId(input.model))
        .query<RegistryDescription>(describeQuery);
      const number =
        registry.aliases.production ?? registry.aliases.candidate ?? registry.versions.at(-1)?.version;
      const version = registry.versions.find((v) => v.version === number);
      if (!version) {
        throw new InvalidInputError(
          `model "${input.model}" has no registered version to monitor: register one with its pipeline first`,
        );
      }
      const manifest = (await store.readJson(version.model as ArtifactRef)) as unknown as ModelManifest;
      const reference = await resolveDataset(manifest.metadata.data.dataset.sha256, {
        store,
        dataRoots: deps.config.dataRoots,
        what: `the training data of ${input.model} v${version.version}`,
      });
      // Both sides as the model's inputs (the fitted transform's SQL), so derived features count too.
      const dir = join(deps.config.home, 'monitor', input.model);
      await mkdir(dir, { recursive: true });
      const referenceInputs = join(dir, `reference-${version.model.sha256.slice(0, 16)}.parquet`);
      await writeModelInputs(reference.path, manifest.transform, referenceInputs, true);
      const { current, performance, source } = await currentData(
        input,
        version.version,
        manifest,
        version.model.sha256,
        dir,
      );
      const features = modelInputNames(manifest.transform);
      // Default thresholds: the report's own verdicts are dropped below, only its statistics travel.
      const options = driftOptionsSchema.parse({
        columns: current.withPrediction ? [...features, predictionColumn] : features,
      });
      const report = await detectDrift(
        { path: referenceInputs, name: 'reference', sha256: reference.sha256 },
        { path: current.path, name: current.name, sha256: current.sha256 },
        options,
      );
      Context.current().log.info('drift measured', {
        model: input.model,
        version: version.version,
        features: report.features.length,
        current: current.name,
      });
      const statistics = report.features.map(({ column, psi, js, ks }): FeatureStatistics => ({
        column,
        psi,
        js,
        ...(ks ? { ks } : {}),
      }));
      return {
        model: input.model,
        version: version.version,
        reference: { sha256: reference.sha256, rows: report.reference.rows },
        current: { name: current.name, sha256: current.sha256, rows: report.current.rows, source },
        features: statistics.filter((f) => f.column !== predictionColumn),
        prediction: statistics.find((f) => f.column === predictionColumn) ?? null,
        skipped: report.skipped,
        performance,
      };
    }),

    /**
     * Start the pipeline on the drifted data with trigger `drift`, under the deterministic workflow id
     * the workflow chose and `REJECT_DUPLICATE`: a second breach on the same data finds the first run.
     */
    startRetraining: guard(async (input: RetrainInput): Promise<{ workflowId: string; started: boolean }> => {
      const { input: run, searchAttributes } = await runStart(deps.config, input.spec, {
        runParams: input.source === null ? {} : { source: input.source },
        trigger: 'drift',
        startedBy: `monitor:${input.model}`,
      });
      try {
        await deps.client.workflow.start('dagWorkflow', {
          taskQueue: deps.config.taskQueues.orchestration,
          workflowId: input.workflowId,
          args: [run],
          typedSearchAttributes: searchAttributes,
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        });
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) {
          return { workflowId: input.workflowId, started: false };
        }
        throw error;
      }
      Context.current().log.warn('retraining started on drift', {
        model: input.model,
        workflowId: input.workflowId,
        reasons: input.reasons,
      });
      return { workflowId: input.workflowId, started: true };
    }),

    /**
     * Alert on a breach: one pino line always (log shipping routes it), and a POST to the webhook when
     * one is configured. A webhook failure throws so Temporal retries it; the workflow records the end.
     */
    sendMonitorAlert: async (alert: MonitorAlert): Promise<'sent' | 'not configured'> => {
      Context.current().log.warn('model monitor breach', { ...alert });
      if (!deps.alertWebhook) return 'not configured';
      const response = await fetch(deps.alertWebhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'sluice.monitor.breach', ...alert }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) {
        throw new Error(`alert webhook answered ${response.status} ${response.statusText}`);
      }
      return 'sent';
    },
  };

  async function currentData(
    input: MeasureInput,
    version: number,
    manifest: ModelManifest,
    modelSha256: string,
    dir: string,
  ): Promise<{
    current: { path: string; name: string; sha256: string; withPrediction: boolean };
    performance: MonitorMeasurement['performance'];
    source: string | null;
  }> {
    if ('source' in input.current) {
      const data = await resolveDataset(input.current.source, {
        store,
        dataRoots: deps.config.dataRoots,
        what: `the current data of the ${input.model} monitor`,
      });
      // Named by the data and the model: the inputs depend on both.
      const path = join(dir, `current-${data.sha256.slice(0, 16)}-${modelSha256.slice(0, 8)}.parquet`);
      await writeModelInputs(data.path, manifest.transform, path, false);
      return {
        current: { path, name: input.current.source, sha256: data.sha256, withPrediction: false },
        performance: null,
        source: input.current.source,
      };
    }
    // With an S3 store the serving replicas publish their logs there; otherwise they are local files.
    const shared = sharedLogsFor(deps.config.artifacts);
    const logDir = shared
      ? await mirrorPredictionLog(shared, deps.config.home, input.model)
      : deps.config.serve.predictionLogDir;
    const rows = await readLabeledPredictions(logDir, input.model);
    if (rows.length === 0) {
      throw new DependencyUnavailableError(
        `the prediction log of "${input.model}" ${shared ? `in ${shared.where}prediction-log/` : `under ${logDir}`} is empty: serve the model with \`sluice serve\` first, or monitor a --data file`,
      );
    }
    // The logged inputs and what the model said, as one NDJSON file the same drift code reads.
    const { label } = manifest.transform;
    const path = join(dir, 'current-log.ndjson');
    const lines = rows.map((r) =>
      JSON.stringify({ ...r.features, [predictionColumn]: predictedValue(r.prediction, label) }),
    );
    await writeFileAtomic(path, `${lines.join('\n')}\n`);
    const { sha256 } = await sha256File(path);
    return {
      current: { path, name: `prediction-log/${input.model}`, sha256, withPrediction: true },
      performance: liveAccuracy(rows, version, label),
      source: null,
    };
  }
}

export type MonitorActivities = ReturnType<typeof createMonitorActivities>;
