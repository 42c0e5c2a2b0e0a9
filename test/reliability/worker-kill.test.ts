// Fault suite: a real `sluice worker` process (both task queues) SIGKILLed at a chosen point of a real
// flights lifecycle run — ingestion, training, the approval wait, registration, a canary window — and a
// new worker process started. Each test of ingestion, training and deployment prints how long after the
// kill the step ran again on the new worker (recorded, never asserted: docs/reliability.md). After each: the run succeeds, the killed step's counted attempt is a later
// one, every ArtifactRef re-hashes, the whole home is consistent, and the registry holds exactly one
// version per run and no promotion twice.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followRun, startRun } from '../../client/runs.js';
import type { LifecycleConfig } from '../../pipelines/lifecycle.js';
import { resolveRunParams } from '../../pipelines/params.js';
import type { DeployResult } from '../../workflows/deploy.js';
import type { dagWorkflow } from '../../workflows/index.js';
import type { SluiceConfig } from '../../lib/config.js';
import { lifecycleRoles } from '../integration/fixtures/lifecycle.js';
import { sluice, startSluice, type LiveSluice } from '../support/cli.js';
import { freePort } from '../support/paths.js';
import { flightRows } from '../integration/fixtures/serving.js';
import { testConfig } from '../support/worker.js';
import {
  awaitingGate,
  completionTimes,
  crash,
  expectOneVersionPerRun,
  faultLifecycle,
  finishRun,
  recordRecovery,
  registryOf,
  restartedAfter,
  sleep,
  started,
  startWorkerProcess,
  stopAll,
  verifyHome,
  verifyOutputs,
  waitForActivity,
} from './support/faults.js';

const MODEL = 'delay-faults';
const EPOCHS = 6;

let config: SluiceConfig;
let env: Record<string, string>;
let client: Client;
let worker: LiveSluice;

beforeAll(async () => {
  ({ config, env } = await testConfig());
  await writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles: lifecycleRoles }));
  client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
  worker = await startWorkerProcess(env);
});

afterAll(async () => {
  await stopAll();
  await client?.connection.close();
});

function start(id: string, overrides: Partial<LifecycleConfig>): Promise<WorkflowHandle<typeof dagWorkflow>> {
  const spec = faultLifecycle(id, { model: MODEL, ...overrides });
  return startRun(client, config, spec, { runParams: resolveRunParams(spec, {}), startedBy: 'dana' });
}

describe('a SIGKILLed worker, restarted', () => {
  it('during ingestion: the ingest step is retried, the run completes and registers and promotes once', async () => {
    const handle = await start('fault-ingest', {
      train: { model: 'logistic', epochs: 3, seed: 1 },
      deploy: { strategy: 'direct', infra: { sampleRows: 50, maxP95Ms: 500 } },
    });
    const seen = await waitForActivity(handle, 'ingestDataset');
    const killedAt = Date.now();
    await crash(worker);
    worker = await startWorkerProcess(env);
    const workerUp = Date.now() - killedAt;
    await recordRecovery('ingest', await restartedAfter(handle, seen, killedAt), workerUp);

    const status = await finishRun(handle);
    expect(status.state).toBe('succeeded');
    const ingest = status.steps.find((s) => s.id === 'ingest');
    // The attempt that ran when the worker died never finished: the one that counted is a later one.
    expect(ingest?.attempt).toBeGreaterThan(seen.attempt);
    const completed = await completionTimes(handle, 'ingestDataset');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toBeGreaterThan(killedAt);
    expect(await verifyOutputs(status, config.home)).toBeGreaterThanOrEqual(5);
    const registry = await registryOf(MODEL, env);
    expectOneVersionPerRun(registry, handle.workflowId, true);
    await verifyHome(config.home);
  });

  it('during training: the retry resumes from the last checkpoint heartbeat; one version, one promotion', async () => {
    const handle = await start('fault-train', {
      // A small MLP on the tfjs (WASM) engine, in batches of 8: several seconds an epoch here, so
      // training outlasts the heartbeat throttle (the server hears of a checkpoint at most every
      // 16 s under the shipped 20 s timeout) and the kill lands mid-training.
      train: {
        model: 'mlp',
        layers: [16],
        epochs: EPOCHS,
        batchSize: 8,
        seed: 2,
        earlyStopping: { patience: EPOCHS },
      },
      deploy: { strategy: 'direct', infra: { sampleRows: 50, maxP95Ms: 500 } },
    });
    const seen = await waitForActivity(handle, 'trainModel', (a) => epochOf(a.heartbeat) >= 1);
    const killedAt = Date.now();
    await crash(worker);
    worker = await startWorkerProcess(env);
    const workerUp = Date.now() - killedAt;
    await recordRecovery('train', await restartedAfter(handle, seen, killedAt), workerUp);

    const status = await finishRun(handle);
    expect(status.state).toBe('succeeded');
    const train = status.steps.find((s) => s.id === 'train');
    const output = train?.output as { resumedFromEpoch: number | null; metrics: { epochsRun: number } };
    expect(train?.attempt).toBeGreaterThan(seen.attempt);
    expect(output.resumedFromEpoch).toBeGreaterThanOrEqual(epochOf(seen.heartbeat));
    expect(output.metrics.epochsRun).toBe(EPOCHS);
    expect(await verifyOutputs(status, config.home)).toBeGreaterThanOrEqual(5);
    const registry = await registryOf(MODEL, env);
    expectOneVersionPerRun(registry, handle.workflowId, true);
    await verifyHome(config.home);
  });

  it('during a deploy activity: infra validation runs again on the new worker; promoted once', async () => {
    // Training is a cache hit (the ingestion test's data and trainer), so each run reaches its deploy
    // child quickly; infra validation scores 10,000 rows, about a second. A run whose validation ends
    // before the kill lands is checked too, and the next one tried.
    let measured = false;
    let tries = 0;
    for (let tryNo = 1; tryNo <= 5 && !measured; tryNo++) {
      tries = tryNo;
      const handle = await start(`fault-deploy-${tryNo}`, {
        train: { model: 'logistic', epochs: 3, seed: 1 },
        deploy: { strategy: 'direct', infra: { sampleRows: 10_000, maxP95Ms: 500 } },
      });
      const finished = finishRun(handle);
      finished.catch(() => undefined);
      const child = await deployChild(handle);
      const seen = await waitForActivity(child, 'validateModelInfra', () => true, 180_000, 10).catch(
        () => undefined,
      );
      if (seen) {
        const killedAt = Date.now();
        await crash(worker);
        worker = await startWorkerProcess(env);
        const workerUp = Date.now() - killedAt;
        const ms = await restartedAfter(child, seen, killedAt).catch(() => undefined);
        if (ms !== undefined) {
          await recordRecovery('deploy', ms, workerUp);
          measured = true;
        }
      }
      const status = await finished;
      expect(status.state, JSON.stringify(status.stoppedBy)).toBe('succeeded');
      const result = status.steps.find((s) => s.id === 'deploy')?.output as unknown as DeployResult;
      expect(result.outcome, result.reasons.join('; ')).toBe('promoted');
      expect(await verifyOutputs(status, config.home)).toBeGreaterThanOrEqual(5);
      const registry = await registryOf(MODEL, env);
      expect(expectOneVersionPerRun(registry, handle.workflowId, true)).toBe(result.version);
    }
    expect(measured, `no kill landed inside validateModelInfra in ${tries} runs`).toBe(true);
    await verifyHome(config.home);
  });

  it('at the approval gate: a decision signalled while no worker runs is honoured after restart', async () => {
    // The same data and trainer as the ingestion test: training is a cache hit, the gate comes quickly.
    const handle = await start('fault-approval', { train: { model: 'logistic', epochs: 3, seed: 1 } });
    const gate = await awaitingGate(handle);
    await crash(worker);

    const sent = await sluice(
      [
        'approve',
        handle.workflowId,
        '--as',
        'rita',
        '--model-version',
        gate.modelVersion,
        '--signal',
        '--json',
      ],
      env,
    );
    expect(sent.code, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ sent: 'signal' });
    // With no worker, nothing moves: the run is still open and the decision waits in its history.
    await sleep(1_000);
    const description = await handle.describe();
    expect(description.status.name).toBe('RUNNING');
    const history = await handle.fetchHistory();
    expect(history.events?.filter((e) => e.workflowExecutionSignaledEventAttributes)).toHaveLength(1);

    worker = await startWorkerProcess(env);
    const status = await followRun(handle, () => undefined, 200);
    expect(status.state).toBe('succeeded');
    expect(status.approvals[0]).toMatchObject({ state: 'approved' });
    expect(status.approvals[0]?.decisions).toMatchObject([
      { approver: 'rita', decision: 'approve', modelVersion: gate.modelVersion, channel: 'signal' },
    ]);
    expect(await verifyOutputs(status, config.home)).toBeGreaterThanOrEqual(5);
    const registry = await registryOf(MODEL, env);
    const version = expectOneVersionPerRun(registry, handle.workflowId, false);
    expect(registry.versions.find((v) => v.version === version)?.approvals).toMatchObject([
      { approver: 'rita', decision: 'approve' },
    ]);
    await verifyHome(config.home);
  });

  it('during registration: the retried registerModel finds its version, none is added', async () => {
    // Training is a cache hit again (same data, same trainer): straight to sign-off and registration,
    // which takes tens of milliseconds, so a run may finish before the kill lands. Each such run is
    // checked too, and the next one tried, until a kill lands inside registerModel.
    let landed = false;
    let tries = 0;
    for (let tryNo = 1; tryNo <= 10 && !landed; tryNo++) {
      tries = tryNo;
      const handle = await start(`fault-register-${tryNo}`, {
        train: { model: 'logistic', epochs: 3, seed: 1 },
      });
      const finished = finishRun(handle);
      finished.catch(() => undefined);
      const seen = await waitForActivity(handle, 'registerModel', () => true, 90_000, 2).catch(
        (error: unknown) => {
          if (error instanceof Error && / ended before registerModel was seen running/.test(error.message)) {
            return undefined;
          }
          throw error;
        },
      );
      if (seen) {
        await crash(worker);
        worker = await startWorkerProcess(env);
        landed = true;
      }
      const status = await finished;
      expect(status.state).toBe('succeeded');
      const register = status.steps.find((s) => s.id === 'register');
      if (seen) expect(register?.attempt).toBeGreaterThan(seen.attempt);
      expect(await verifyOutputs(status, config.home)).toBeGreaterThanOrEqual(5);
      const registry = await registryOf(MODEL, env);
      const version = expectOneVersionPerRun(registry, handle.workflowId, false);
      expect(register?.output).toMatchObject({ model: MODEL, version });
    }
    expect(landed, `no kill landed inside registerModel in ${tries} runs`).toBe(true);
    await verifyHome(config.home);
  });

  it('during a canary window: the durable window survives, the canary is judged and promoted once', async () => {
    const port = await freePort();
    const serve = startSluice(['serve', '--model', MODEL, '--canary', '50', '--poll', '500'], {
      ...env,
      SLUICE_SERVE_PORT: String(port),
      SLUICE_LOG_LEVEL: 'info',
    });
    started.push(serve);
    await serve.waitFor(/"msg":"serving"/, 60_000);
    const url = `http://127.0.0.1:${port}`;

    const handle = await start('fault-canary', {
      train: { model: 'logistic', epochs: 3, seed: 3 },
      deploy: {
        strategy: 'canary',
        percent: 50,
        observe: '15s',
        infra: { sampleRows: 50, maxP95Ms: 500 },
        // The decision rules are tested elsewhere; here only the fault matters, so the bounds are wide.
        thresholds: { minPredictions: 100, maxPsi: 100, maxLatencyRatio: 100 },
      },
    });
    const traffic = sendTraffic(url);
    const finished = finishRun(handle);
    // Awaited below; this only keeps an early failure of the test from leaving it unhandled.
    finished.catch(() => undefined);
    try {
      const deploy = await observingDeploy(handle);
      await crash(worker);
      const killedAt = Date.now();
      // A third of the window passes with no worker at all, then a new one takes over.
      await sleep(5_000);
      worker = await startWorkerProcess(env);
      expect(killedAt).toBeLessThan(Date.parse(deploy.observeUntil));

      const status = await finished;
      expect(status.state, JSON.stringify(status.stoppedBy)).toBe('succeeded');
      const result = status.steps.find((s) => s.id === 'deploy')?.output as unknown as DeployResult;
      expect(result.outcome, result.reasons.join('; ')).toBe('promoted');
      expect(result.observation?.candidate.predictions).toBeGreaterThanOrEqual(100);
      expect(await verifyOutputs(status, config.home)).toBeGreaterThanOrEqual(5);
      const registry = await registryOf(MODEL, env);
      const version = expectOneVersionPerRun(registry, handle.workflowId, true);
      expect(result.version).toBe(version);
      expect(registry.aliases.production).toBe(version);
      await verifyHome(config.home);
    } finally {
      traffic.stop();
    }
    // Serving answered every request, the ones sent while no worker ran included.
    const sent = await traffic.done;
    expect(sent.failed).toEqual([]);
    expect(sent.byVersion.size).toBeGreaterThanOrEqual(2);
  });
});

/** The run's deploy child, once the run has started it. */
async function deployChild(handle: WorkflowHandle<typeof dagWorkflow>): Promise<WorkflowHandle> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const { raw, status } = await handle.describe();
    const child = raw.pendingChildren?.find((c) => c.workflowTypeName === 'deployWorkflow');
    if (child?.workflowId) return client.workflow.getHandle(child.workflowId);
    if (status.name !== 'RUNNING') throw new Error('the run ended before its deploy');
    await sleep(50);
  }
  throw new Error('the run never started its deploy');
}

/** The run's deploy child once it waits out its observation window (queried: needs a worker). */
async function observingDeploy(
  handle: WorkflowHandle<typeof dagWorkflow>,
): Promise<{ workflowId: string; observeUntil: string }> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const { raw, status } = await handle.describe();
    const child = raw.pendingChildren?.find((c) => c.workflowTypeName === 'deployWorkflow');
    if (child?.workflowId) {
      const deploy = await client.workflow
        .getHandle(child.workflowId)
        .query<{ phase: string; observeUntil: string | null }>('status')
        .catch(() => undefined);
      if (deploy?.phase === 'observing' && deploy.observeUntil) {
        return { workflowId: child.workflowId, observeUntil: deploy.observeUntil };
      }
    }
    if (status.name !== 'RUNNING') throw new Error('the run ended before its canary window');
    await sleep(100);
  }
  throw new Error('the deploy never reached its observation window');
}

/** Real requests through `sluice serve` until stopped: which versions answered, and any failure. */
function sendTraffic(url: string): {
  stop(): void;
  done: Promise<{ byVersion: Map<number, number>; failed: string[] }>;
} {
  let stopped = false;
  const byVersion = new Map<number, number>();
  const failed: string[] = [];
  const done = (async () => {
    const rows = await flightRows(2000);
    for (let i = 0; !stopped; i = (i + 50) % rows.length) {
      const response = await fetch(`${url}/v1/models/${MODEL}:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: rows.slice(i, i + 50) }),
      }).catch((error: unknown) => error as Error);
      if (response instanceof Error) failed.push(response.message);
      else if (response.status !== 200) failed.push(`${response.status}: ${await response.text()}`);
      else {
        const { version } = (await response.json()) as { version: number };
        byVersion.set(version, (byVersion.get(version) ?? 0) + 1);
      }
      await sleep(20);
    }
    return { byVersion, failed };
  })();
  return { stop: () => (stopped = true), done };
}

/** The epoch a training heartbeat reports (0 before the first epoch ends). */
function epochOf(heartbeat: unknown): number {
  const epoch = (heartbeat as { epoch?: unknown } | undefined)?.epoch;
  return typeof epoch === 'number' ? epoch : 0;
}
