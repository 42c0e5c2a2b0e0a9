import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { withDuckDB, sqlString } from '../../activities/duckdb.js';
import { createMonitorSchedule } from '../../cli/actions/monitor.js';
import { promoteModel } from '../../cli/registry.js';
import type { MonitorInput, MonitorResult } from '../../pipelines/monitor.js';
import type { DagStatus, monitorWorkflow } from '../../workflows/index.js';
import { projectRoot } from '../support/paths.js';
import { useTestWorker } from '../support/worker.js';
import { flightsLifecycle, lifecycleRoles } from './fixtures/lifecycle.js';
import { trainAndRegister } from './fixtures/serving.js';

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
    expect(result.decision).toEqual({ breach: false, reasons: [] });
    expect(result.measurement.version).toBe(1);
    expect(result.measurement.features.map((f) => `${f.column}:${f.verdict}`)).toEqual([
      'distance:ok',
      'origin:ok',
    ]);
    expect(result.measurement.skipped).toEqual([
      { column: 'hour', reason: 'missing from the reference dataset' },
    ]);
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
