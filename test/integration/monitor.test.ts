import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDuckDB, sqlString } from '../../lib/duckdb.js';
import { createMonitorSchedule } from '../../client/monitors.js';
import { promoteModel } from '../../client/registry.js';
import type { MonitorInput, MonitorResult } from '../../pipelines/monitor.js';
import type { DagStatus, monitorWorkflow } from '../../workflows/index.js';
import { projectRoot } from '../support/paths.js';
import { FeedbackLog } from '../../lib/feedback-log.js';
import { createServingMetrics } from '../../serving/metrics.js';
import { PredictionLog } from '../../lib/prediction-log.js';
import { testConfig, testWorker, useTestWorker } from '../support/worker.js';
import { flightsLifecycle, lifecycleRoles } from './fixtures/lifecycle.js';
import { flightRows, trainAndRegister } from './fixtures/serving.js';

const t = useTestWorker(async (config) =>
  writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles: lifecycleRoles })),
);

const MODEL = 'delay-monitored';
const PIPELINE = 'monitor-flights';
const flights = 'node_modules/vega-datasets/data/flights-3m.parquet';
const spec = flightsLifecycle(PIPELINE, { model: MODEL, train: { model: 'logistic', epochs: 3, seed: 1 } });
let shifted: string;
let shiftedSha: string;

const monitor = (source: string, id: string): Promise<MonitorResult> =>
  t.client.workflow.execute('monitorWorkflow', {
    taskQueue: t.config.taskQueues.orchestration,
    workflowId: id,
    args: [
      {
        model: MODEL,
        pipeline: spec,
        current: { source },
        policy: { onBreach: 'retrain' },
      } satisfies MonitorInput,
    ],
  });

async function driftRuns(): Promise<string[]> {
  const ids: string[] = [];
  for await (const run of t.client.workflow.list({
    query: `SluiceTrigger = 'drift' AND SluicePipeline = '${PIPELINE}'`,
  })) {
    ids.push(run.workflowId);
  }
  return ids;
}

beforeAll(async () => {
  const first = await trainAndRegister(t.client, t.config, PIPELINE, MODEL, 1);
  await promoteModel(t.client, MODEL, {
    version: 1,
    by: 'dana',
    reason: 'first model',
    authorisedBy: 'approved-run',
    approvedRun: first,
  });
  // The same flights with every distance tripled: the world changed under the model.
  shifted = join(t.config.home, 'flights-shifted.parquet');
  await withDuckDB(async (db) => {
    await db.run(
      `COPY (SELECT date, delay, distance * 3 AS distance, origin, destination FROM read_parquet(${sqlString(join(projectRoot, flights))})) TO ${sqlString(shifted)} (FORMAT parquet)`,
    );
  });
}, 400_000);

describe('the monitor workflow', () => {
  it('data like the training data: no breach, no alert, no retraining', async () => {
    const result = await monitor(flights, 'monitor-calm');
    expect(result.decision).toMatchObject({ breach: false, reasons: [] });
    expect(result.measurement.version).toBe(1);
    // Compared as the model sees them: `hour` is derived from `date` by the fitted transform.
    expect(result.decision.features?.map((f) => `${f.column}:${f.verdict}`)).toEqual([
      'hour:ok',
      'distance:ok',
      'origin:ok',
    ]);
    expect(result.measurement.skipped).toEqual([]);
    expect(result.measurement.prediction).toBeNull();
    expect(result.retraining).toBeNull();
    expect(result.alert).toBeNull();
  }, 120_000);

  it('shifted flights: every breach alerts, exactly one retraining starts, and it stops at the approval gate', async () => {
    const results: MonitorResult[] = [];
    for (let i = 0; i < 3; i++) results.push(await monitor(shifted, `monitor-shifted-${i}`));
    for (const result of results) {
      expect(result.decision.breach).toBe(true);
      expect(result.decision.reasons[0]).toMatch(/^feature distance: psi \d/);
      expect(result.alert).toEqual({ sent: true, webhook: 'not configured' });
    }
    shiftedSha = results[0]!.measurement.current.sha256.slice(0, 16);
    const workflowId = `${PIPELINE}-drift-${shiftedSha}`;
    expect(results.map((r) => r.retraining)).toEqual([
      { workflowId, started: true },
      { workflowId, started: false },
      { workflowId, started: false },
    ]);

    let ids: string[] = [];
    for (let i = 0; i < 50 && ids.length === 0; i++) {
      ids = await driftRuns();
      if (ids.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ids).toEqual([workflowId]);

    const handle = t.client.workflow.getHandle(workflowId);
    let status: DagStatus | undefined;
    for (let i = 0; i < 900; i++) {
      status = await handle.query<DagStatus>('status').catch(() => undefined);
      if (status?.approvals.some((g) => g.state === 'awaiting') || (status && status.state !== 'running'))
        break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status?.state).toBe('running');
    expect(status?.approvals.map((g) => `${g.step}:${g.state}`)).toEqual(['approve:awaiting']);
    expect(status?.steps.find((s) => s.id === 'register')?.state).toBe('pending');
    const description = await handle.describe();
    expect(description.status.name).toBe('RUNNING');
  }, 400_000);

  it('run by its schedule: the monitor fires, sees the breach again, and starts no second retraining', async () => {
    const input: MonitorInput = {
      model: MODEL,
      pipeline: spec,
      current: { source: shifted },
      policy: { onBreach: 'retrain' },
    };
    const scheduleId = await createMonitorSchedule(t.client, t.config, input, 3_600_000);
    const schedule = t.client.schedule.getHandle(scheduleId);
    try {
      await schedule.trigger();
      let workflowId: string | undefined;
      for (let i = 0; i < 100 && !workflowId; i++) {
        const action = (await schedule.describe()).info.recentActions[0]?.action;
        workflowId = action?.workflow.workflowId;
        if (!workflowId) await new Promise((r) => setTimeout(r, 200));
      }
      expect(workflowId).toMatch(new RegExp(`^monitor-${MODEL}`));
      const result = await t.client.workflow.getHandle<typeof monitorWorkflow>(workflowId!).result();
      expect(result.decision.breach).toBe(true);
      expect(result.retraining).toMatchObject({ started: false });
      expect(await driftRuns()).toEqual([result.retraining?.workflowId]);
    } finally {
      await schedule.delete();
      await t.client.workflow.getHandle(`${PIPELINE}-drift-${shiftedSha}`).terminate('test done');
    }
  }, 120_000);
});

describe('monitor alerts through a webhook, and live accuracy from the prediction log', () => {
  let hits = 0;
  let failFirst = 0;
  let received: Record<string, unknown>[] = [];
  let server: Server;
  let queue: string;
  let stopWorker: () => Promise<void>;

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        hits++;
        received.push(JSON.parse(body) as Record<string, unknown>);
        response.statusCode = hits <= failFirst ? 503 : 200;
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    // A second worker on the same home and server, configured with the webhook.
    const { config } = await testConfig({
      SLUICE_HOME: t.config.home,
      SLUICE_DATA_ROOTS: t.env['SLUICE_DATA_ROOTS'] ?? '',
      SLUICE_ALERT_WEBHOOK: `http://127.0.0.1:${port}/alerts`,
    });
    queue = config.taskQueues.orchestration;
    const worker = await testWorker(config);
    stopWorker = () => worker.shutdown();
  });
  afterAll(async () => {
    await stopWorker();
    await new Promise((resolve) => server.close(resolve));
  });

  const watch = (input: Omit<MonitorInput, 'model' | 'pipeline'>, id: string): Promise<MonitorResult> =>
    t.client.workflow.execute('monitorWorkflow', {
      taskQueue: queue,
      workflowId: id,
      args: [{ model: MODEL, pipeline: spec, ...input } satisfies MonitorInput],
    });

  it('labels say the model is wrong: an accuracy breach, alerted to a webhook that answers on the third try', async () => {
    const log = new PredictionLog(
      { dir: t.config.serve.predictionLogDir, flushIntervalMs: 100 },
      pino({ level: 'silent' }),
      createServingMetrics(false),
    );
    const rows = await flightRows(200);
    log.append(
      rows.map((row, i) => ({
        requestId: `req-${i}`,
        instance: 0,
        model: MODEL,
        version: 1,
        role: 'production',
        timeMs: Date.now(),
        // Serving logs the features it computed from the request: hour from the date sent.
        features: JSON.stringify({
          hour: Number(String(row['date']).slice(11, 13)),
          distance: row['distance'],
          origin: row['origin'],
        }),
        prediction: JSON.stringify(0.9),
        score: 0.9,
      })),
    );
    await log.close();
    const feedback = new FeedbackLog(t.config.serve.predictionLogDir);
    for (let i = 0; i < 150; i++) await feedback.append({ requestId: `req-${i}`, instance: 0, label: 0 });

    hits = 0;
    failFirst = 2;
    received = [];
    const result = await watch(
      { current: { predictionLog: true }, policy: { onBreach: 'alert', minAccuracy: 0.6 } },
      'monitor-log-accuracy',
    );
    expect(result.measurement.current).toMatchObject({
      name: `prediction-log/${MODEL}`,
      rows: 200,
      source: null,
    });
    expect(result.measurement.performance).toEqual({ labeled: 150, accuracy: 0 });
    expect(result.decision.breach).toBe(true);
    expect(result.decision.reasons).toContain('accuracy 0.000 < 0.6 on 150 labelled predictions');
    // The model said "delayed" to every flight; far fewer were delayed in its training data.
    expect(result.decision.prediction).toMatchObject({ column: 'prediction', verdict: 'drift' });
    expect(result.decision.reasons).toContainEqual(expect.stringMatching(/^predictions: psi \d/));
    expect(result.measurement.features.map((f) => f.column)).toEqual(['hour', 'distance', 'origin']);
    expect(result.retraining).toBeNull(); // policy: alert only
    expect(result.alert).toEqual({ sent: true, webhook: 'sent' });
    expect(hits).toBe(3);
    expect(received[2]).toMatchObject({
      kind: 'sluice.monitor.breach',
      model: MODEL,
      version: 1,
      action: 'alert',
    });
  }, 120_000);

  it('a webhook that never answers: retried, the failure and its reason recorded, the monitor run still completes', async () => {
    hits = 0;
    failFirst = 100;
    const result = await watch(
      { current: { source: shifted }, policy: { onBreach: 'alert' } },
      'monitor-webhook-down',
    );
    expect(result.decision.breach).toBe(true);
    expect(result.alert).toEqual({
      sent: false,
      webhook: 'failed after retries: alert webhook answered 503 Service Unavailable',
    });
    expect(hits).toBe(5);
  }, 120_000);
});
