import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { withDuckDB } from '../../lib/duckdb.js';
import { calibrateOne } from '../../lib/model/calibration.js';
import { loadScoringModel, readModelManifest } from '../../lib/model/model-artifact.js';
import { loadMatrix } from '../../activities/train/load-matrix.js';
import type { EvaluationReport } from '../../activities/evaluate/evaluate-core.js';
import { describeModel, promoteModel } from '../../client/registry.js';
import { followRun, startRun } from '../../client/runs.js';
import type { ApprovalGateStatus } from '../../pipelines/approval.js';
import type { ArtifactRef } from '../../pipelines/artifact.js';
import type { JsonValue } from '../../pipelines/json.js';
import type { ModelRef } from '../../pipelines/model.js';
import type { DagStatus } from '../../workflows/index.js';
import type { ServingServer } from '../../serving/server.js';
import { projectRoot } from '../support/paths.js';
import { useTestWorker } from '../support/worker.js';
import { flightsLifecycle, lifecycleRoles } from './fixtures/lifecycle.js';
import { startTestServer } from './fixtures/serving.js';

const t = useTestWorker(async (config) =>
  writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles: lifecycleRoles })),
);
const servers: ServingServer[] = [];

afterAll(async () => {
  for (const s of servers) await s.close();
});

const flights = join(projectRoot, 'node_modules/vega-datasets/data/flights-3m.parquet');
/** Rows the model never trained on (another 1-in-100 sample), with no derived feature, as callers send them. */
const ROWS_SQL = `SELECT distance::DOUBLE AS distance, origin, delay FROM read_parquet('${flights}') WHERE hash(date, origin, destination) % 100 = 1 ORDER BY date, origin, destination LIMIT 25`;

describe('calibration through the lifecycle on a real Temporal server', () => {
  it('a class-weighted GBDT is recalibrated on validation: ECE drops, and serving returns the batch-calibrated probability', async () => {
    const model = 'delay-calibrated';
    const spec = flightsLifecycle('calibration-lifecycle', {
      model,
      features: { numeric: ['distance'], categorical: [{ name: 'origin', topK: 20 }] },
      // `calibration` is left at its default: Platt, because the classes are weighted.
      train: { model: 'gbdt', rounds: 20, minDataPerCategory: 20, classWeight: 'balanced', seed: 1 },
      evaluate: { bless: { auc: { min: 0.5 } } },
    });
    const handle = await startRun(t.client, t.config, spec, { runParams: {}, startedBy: 'dana' });
    let gate: ApprovalGateStatus | undefined;
    for (let i = 0; i < 900 && !gate; i++) {
      const status = await handle.query<DagStatus>('status').catch(() => undefined);
      gate = status?.approvals.find((g) => g.state === 'awaiting');
      if (status && status.state !== 'running')
        throw new Error(`run ended ${status.state} before its gate: ${JSON.stringify(status.steps)}`);
      if (!gate) await new Promise((r) => setTimeout(r, 200));
    }
    await handle.executeUpdate('submitApproval', {
      args: [{ approver: 'rita', decision: 'approve', modelVersion: gate!.modelVersion }],
    });
    const status = await followRun(handle, () => undefined);
    expect(status.state).toBe('succeeded');

    // The evaluation measured calibration on the test split before and after: balanced class weights
    // push every probability towards 0.5, and Platt scaling on the validation split pulls them back.
    const store = createArtifactStore(t.config.home);
    const evaluate = status.steps.find((s) => s.id === 'evaluate')?.output as { evaluation: ArtifactRef };
    const report = (await store.readJson<JsonValue>(evaluate.evaluation)) as unknown as EvaluationReport;
    expect(report.calibration?.method).toBe('platt');
    const { before, after } = report.calibration!;
    expect(before.ece).toBeGreaterThan(0.1);
    expect(after.ece).toBeLessThan(before.ece / 3);
    expect(report.metrics.ece?.value).toBeCloseTo(after.ece, 9);

    // The approver's card says so, with both figures and the before/after chart.
    const card = status.steps.find((s) => s.id === 'card')?.output as {
      json: ArtifactRef;
      html: ArtifactRef;
    };
    const cardJson = (await store.readJson<JsonValue>(card.json)) as {
      calibration?: { method: string; eceBefore: number; eceAfter: number };
      charts: { id: string }[];
    };
    expect(cardJson.calibration).toMatchObject({
      method: 'platt',
      eceBefore: before.ece,
      eceAfter: after.ece,
    });
    expect(cardJson.charts.map((c) => c.id)).toContain('calibration-before-after');
    expect((await store.readBytes(card.html)).toString('utf8')).toContain('Calibrated probabilities');

    const version = (await describeModel(t.client, model)).versions[0]!;
    const ref = { ...version.model, kind: 'model' } as ModelRef;
    const manifest = await readModelManifest(store, ref);
    expect(manifest.calibration).toMatchObject({ method: 'platt' });
    expect(manifest.calibration!.rows).toBe(manifest.metadata.data.rows.validation);

    // Batch: the evaluation's own path (the SQL transform into a matrix, then the stored model).
    const scoring = await loadScoringModel(store, ref, () => {
      throw new Error('a tree model needs no TF.js');
    });
    const { matrix, rows } = await withDuckDB(async (db) => {
      await db.run(`CREATE TEMP TABLE calibration_rows AS ${ROWS_SQL}`);
      const rows = (
        await db.runAndReadAll('SELECT distance, origin FROM calibration_rows')
      ).getRowObjectsJS();
      return { matrix: await loadMatrix(db, manifest.transform, 'calibration_rows'), rows };
    });
    const batch = Array.from(scoring.predict(matrix.x, matrix.rows));
    const uncalibrated = Array.from(scoring.uncalibrated(matrix.x, matrix.rows));

    // A model stored before calibration existed (the same manifest without it) loads and scores as trained.
    const { calibration: _, ...older } = manifest;
    const olderRef = {
      ...(await store.putJson(older as unknown as JsonValue, { kind: 'model' })),
      kind: 'model',
    } as ModelRef;
    const olderScoring = await loadScoringModel(store, olderRef, () => {
      throw new Error('a tree model needs no TF.js');
    });
    expect(Array.from(olderScoring.predict(matrix.x, matrix.rows))).toEqual(uncalibrated);

    // Online: the same rows over HTTP.
    await promoteModel(t.client, model, {
      version: 1,
      by: 'dana',
      reason: 'calibrated trees',
      authorisedBy: 'approved-run',
      approvedRun: handle.workflowId,
    });
    const { server, url } = await startTestServer(t.client, t.config, [{ model }]);
    servers.push(server);
    const response = await fetch(`${url}/v1/models/${model}:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: rows }),
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { predictions: { probabilities: Record<string, number> }[] };
    const served = answer.predictions.map((p) => p.probabilities['1'] ?? Number.NaN);
    expect(served).toHaveLength(rows.length);
    served.forEach((p, i) => {
      expect(p).toBeCloseTo(batch[i]!, 6);
      expect(p).toBeCloseTo(calibrateOne(manifest.calibration!, uncalibrated[i]!), 6);
    });
    // Calibration moved the probabilities: weighted scores sit near 0.5, calibrated ones near the base rate.
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean(uncalibrated) - mean(served)).toBeGreaterThan(0.1);
  });
});
