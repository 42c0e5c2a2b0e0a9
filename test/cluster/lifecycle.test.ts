// The multi-machine lifecycle on the local cluster (PostgreSQL, the Temporal server, MinIO): three
// `sluice worker`s and two `sluice serve` replicas, each on its own SLUICE_HOME, sharing only Temporal
// and the store. The flight-delay lifecycle (the demo's, on a 1-in-100 sample) trains a first version
// and deploys it; a second run is approved and canaried by its deploy step, which steers both replicas
// through the registry and promotes it; drifted traffic then makes the monitor breach, which starts
// exactly one retraining run, and that run completes too. Every run's artifacts verify against the
// store, each run adds one registry version, and no history names a host path or a file:// URI.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeModel } from '../../client/registry.js';
import { startRun } from '../../client/runs.js';
import { loadConfig } from '../../lib/config.js';
import type { LifecycleConfig } from '../../pipelines/lifecycle.js';
import type { MonitorInput, MonitorResult } from '../../pipelines/monitor.js';
import { resolveRunParams } from '../../pipelines/params.js';
import type { PipelineSpec } from '../../pipelines/spec.js';
import type { DeployResult } from '../../workflows/deploy.js';
import { flightRows } from '../integration/fixtures/serving.js';
import { flightsLifecycle } from '../integration/fixtures/lifecycle.js';
import { sluice, type LiveSluice } from '../support/cli.js';
import { freePort } from '../support/paths.js';
import {
  atGate,
  checkPortableHistory,
  finished,
  startCluster,
  untilRun,
  untilStatus,
  type Machine,
  type StatusDoc,
  type TestCluster,
} from './machines.js';
import { sendTraffic, settledPredictionLog, shuffle, type Traffic } from './traffic.js';

const MODEL = 'flight-delay';
const PIPELINE = 'flight-delay';
let c: TestCluster;
let client: Client;
let cli: Machine;
let checker: Machine;
const workers: Machine[] = [];
const replicas: { machine: Machine; url: string; process: LiveSluice }[] = [];
/** Every run of the pipeline, in order: the registry must hold one version for each. */
const runs: string[] = [];
/** Other workflows whose histories must be portable too (monitors, deploy children). */
const otherWorkflows: string[] = [];
let canarySpec: PipelineSpec;
let traffic: Traffic | undefined;

beforeAll(async () => {
  c = await startCluster();
  client = await c.client();
  cli = await c.machine('cli');
  checker = await c.machine('checker');
  for (const name of ['worker-1', 'worker-2', 'worker-3']) {
    const machine = await c.machine(name);
    workers.push(machine);
    await c.startWorker(machine);
  }
});

afterAll(async () => {
  await traffic?.stop().catch(() => 0);
  await c?.close();
});

/** The flight-delay lifecycle with this deploy step (and this training seed, so versions differ). */
function lifecycle(deploy: LifecycleConfig['deploy'], seed: number): PipelineSpec {
  return flightsLifecycle(PIPELINE, { model: MODEL, train: { model: 'logistic', epochs: 3, seed }, deploy });
}

async function start(spec: PipelineSpec): Promise<string> {
  const config = loadConfig(cli.env, cli.home);
  const handle = await startRun(client, config, spec, {
    runParams: resolveRunParams(spec, {}),
    startedBy: 'dana',
  });
  runs.push(handle.workflowId);
  return handle.workflowId;
}

async function approve(workflowId: string): Promise<void> {
  const gate = await untilRun(client, workflowId, atGate);
  expect(gate.temporalState, JSON.stringify(gate.status)).toBe('RUNNING');
  const approved = await sluice(['approve', workflowId, '--as', 'rita', '--json'], cli.env, 120_000);
  expect(approved.code, approved.stderr).toBe(0);
}

async function succeeded(workflowId: string): Promise<StatusDoc> {
  const done = await untilRun(client, workflowId, finished);
  const failed = done.status?.steps.filter((s) => s.state !== 'succeeded');
  expect(done.status?.state, JSON.stringify(failed)).toBe('succeeded');
  return done;
}

const deployOf = (doc: StatusDoc): DeployResult =>
  doc.status?.steps.find((s) => s.id === 'deploy')?.output as DeployResult;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('the flight-delay lifecycle on three workers and two serving replicas, each on its own home', () => {
  it('trains, approves and deploys a first version, and both replicas serve it from the store', async () => {
    const first = await start(lifecycle({ strategy: 'direct' }, 1));
    await approve(first);
    const done = await succeeded(first);
    expect(deployOf(done)).toMatchObject({ version: 1, outcome: 'promoted' });

    for (const name of ['serve-1', 'serve-2']) {
      const machine = await c.machine(name);
      const port = await freePort();
      const process = c.start(['serve', '--model', MODEL, '--poll', '500'], {
        ...machine.env,
        SLUICE_SERVE_PORT: String(port),
      });
      replicas.push({ machine, url: `http://127.0.0.1:${port}`, process });
    }
    await Promise.all(replicas.map((r) => r.process.waitFor(/"msg":"serving"/, 120_000)));
    const rows = await flightRows(3);
    for (const { url } of replicas) {
      const response = await fetch(`${url}/v1/models/${MODEL}:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: rows }),
      });
      expect(response.status).toBe(200);
      expect(JSON.stringify(await response.json())).toContain('"version":1');
    }
  });

  it('canaries the second version across both replicas, steered by its deploy step, then promotes it', async () => {
    canarySpec = lifecycle(
      {
        strategy: 'canary',
        percent: 50,
        observe: '8s',
        metricsUrls: replicas.map((r) => `${r.url}/metrics`),
        // Latency over a short window on a loaded 2-core machine swings widely: the bound is wide; the
        // ratio rule itself is unit-tested. The prediction-log numbers decide.
        thresholds: { minPredictions: 100, maxLatencyRatio: 25 },
      },
      2,
    );
    const second = await start(canarySpec);
    await approve(second);
    traffic = sendTraffic(
      replicas.map((r) => r.url),
      MODEL,
      shuffle(await flightRows(2000)),
    );
    await succeeded(second);
    expect(await traffic.stop()).toBeGreaterThan(0);
    traffic = undefined;
    otherWorkflows.push(`${second}/deploy`);

    // What an operator sees: `sluice status` on another machine.
    const deploy = deployOf(await untilStatus(cli.env, second, finished));
    expect(deploy, JSON.stringify(deploy?.reasons)).toMatchObject({
      version: 2,
      strategy: 'canary',
      outcome: 'promoted',
      productionBefore: 1,
    });
    // The deploy set the split once (50 %) and promotion cleared it; each replica applied it from the
    // registry, and the run's status says what each one ran.
    expect(deploy.traffic.map((t) => [t.version, t.canaryPercent])).toEqual([[2, 50]]);
    expect(deploy.replicas).toHaveLength(2);
    for (const replica of deploy.replicas ?? []) {
      expect(replica).toMatchObject({ applied: true, candidate: 2, canaryPercent: 50, source: 'registry' });
    }
    expect(new Set(deploy.replicas?.map((r) => r.url))).toEqual(
      new Set(replicas.map((r) => `${r.url}/v1/models/${MODEL}`)),
    );
    // Both versions answered in the window, read by a worker from the replicas' logs in the store.
    expect(deploy.observation?.candidate.predictions).toBeGreaterThanOrEqual(100);
    expect(deploy.observation?.production?.predictions).toBeGreaterThanOrEqual(100);
    const registry = await describeModel(client, MODEL);
    expect(registry.aliases.production).toBe(2);
    expect(registry.traffic).toMatchObject({ version: null, canaryPercent: 0 });
  });

  it('drifted traffic makes the monitor breach, which starts exactly one retraining run, and it completes', async () => {
    // The world changed: every flight is three times as long.
    const drifted = shuffle(await flightRows(2000)).map((row) => ({
      ...row,
      distance: Number(row['distance']) * 3,
    }));
    const burst = sendTraffic(
      replicas.map((r) => r.url),
      MODEL,
      drifted,
      { batch: 50 },
    );
    await new Promise((resolve) => setTimeout(resolve, 8000));
    expect(await burst.stop()).toBeGreaterThan(1000);
    await settledPredictionLog(checker, MODEL);

    const input: MonitorInput = {
      model: MODEL,
      pipeline: canarySpec,
      current: { predictionLog: true },
      policy: { onBreach: 'retrain' },
    };
    const config = loadConfig(cli.env, cli.home);
    const results: MonitorResult[] = [];
    for (const id of ['monitor-flight-delay-1', 'monitor-flight-delay-2']) {
      otherWorkflows.push(id);
      results.push(
        await client.workflow.execute<(input: MonitorInput) => Promise<MonitorResult>>('monitorWorkflow', {
          taskQueue: config.taskQueues.orchestration,
          workflowId: id,
          args: [input],
        }),
      );
    }
    for (const result of results) {
      expect(result.decision.breach).toBe(true);
      expect(result.decision.reasons.join('; ')).toMatch(/feature distance: psi \d/);
      expect(result.measurement.version).toBe(2);
    }
    const retraining = results[0]?.retraining?.workflowId ?? '';
    expect(results.map((r) => r.retraining)).toEqual([
      { workflowId: retraining, started: true },
      { workflowId: retraining, started: false },
    ]);
    const drift: string[] = [];
    for await (const run of client.workflow.list({
      query: `SluiceTrigger = 'drift' AND SluicePipeline = '${PIPELINE}'`,
    })) {
      drift.push(run.workflowId);
    }
    expect(drift).toEqual([retraining]);

    // The retraining run is approved like any other and canaried on normal traffic.
    runs.push(retraining);
    await approve(retraining);
    traffic = sendTraffic(
      replicas.map((r) => r.url),
      MODEL,
      shuffle(await flightRows(2000)),
    );
    const done = await succeeded(retraining);
    await traffic.stop();
    traffic = undefined;
    otherWorkflows.push(`${retraining}/deploy`);
    expect(deployOf(done)).toMatchObject({ version: 3, outcome: 'promoted', productionBefore: 2 });
  });

  it('kept the invariants: one version per run, every artifact in the store, no host path anywhere', async () => {
    const registry = await describeModel(client, MODEL);
    expect(registry.versions.map((v) => [v.version, v.workflowId])).toEqual(runs.map((id, i) => [i + 1, id]));
    expect(registry.aliases.production).toBe(3);
    const homes = [...workers, ...replicas.map((r) => r.machine), cli].map((m) => m.home);
    let refs = 0;
    for (const id of [...runs, ...otherWorkflows]) {
      refs += (await checkPortableHistory(client, id, checker, [...homes, c.home])).refs;
    }
    expect(refs).toBeGreaterThan(20);
    // Nothing written outside the store: no machine holds a local artifact store.
    for (const home of homes) expect(await exists(join(home, 'artifacts')), home).toBe(false);
    // The work was spread: more than one worker fetched artifacts into its read-through cache.
    const caching = await Promise.all(workers.map((w) => exists(join(w.home, 'artifact-cache'))));
    expect(caching.filter(Boolean).length).toBeGreaterThan(1);
  });
});
