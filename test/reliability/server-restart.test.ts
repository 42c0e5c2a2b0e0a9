// Fault suite: this file's own Temporal dev server (SQLite file, free port) SIGKILLed while a worker
// process trains and SIGTERMed while the run waits for sign-off, each time restarted on the same file and
// port. The same worker process and client must carry on and the run complete exactly once.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { portOpen } from '../../infra/temporal/cluster.js';
import { startDevServer, type DevServer } from '../../infra/temporal/dev-server.js';
import { startRun } from '../../client/runs.js';
import { resolveRunParams } from '../../pipelines/params.js';
import type { SluiceConfig } from '../../lib/config.js';
import { lifecycleRoles } from '../integration/fixtures/lifecycle.js';
import { freePort } from '../support/paths.js';
import { testConfig } from '../support/worker.js';
import {
  awaitingGate,
  completionTimes,
  expectOneVersionPerRun,
  faultLifecycle,
  finishRun,
  registryOf,
  sleep,
  startWorkerProcess,
  stopAll,
  verifyHome,
  verifyOutputs,
  waitForActivity,
} from './support/faults.js';

const MODEL = 'delay-server-faults';

/**
 * This file's OWN dev server on a free port with a SQLite file (the shared one is never touched):
 * stopped mid-run and started again on the same file and port.
 */
let address: string;
let dbFile: string;
let server: DevServer | undefined;
let config: SluiceConfig;
let env: Record<string, string>;
let client: Client;

async function startServer(): Promise<DevServer> {
  return startDevServer({
    cli: { source: 'env', path: inject('temporalCliPath'), version: 'test' },
    address,
    namespace: 'default',
    uiPort: false,
    dbFile,
    logFile: join(config.home, 'temporal.log'),
  });
}

/** Take the server down (`SIGKILL`: a crash; `SIGTERM`: an operator's stop) and wait until it is gone. */
async function takeDown(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  const current = server as DevServer;
  if (signal === 'SIGKILL') process.kill(current.pid, 'SIGKILL');
  // After a SIGKILL this only reaps the process; otherwise it is a SIGTERM and a wait.
  await current.stop();
  server = undefined;
  const port = Number(address.split(':')[1]);
  for (let i = 0; i < 100 && (await portOpen('127.0.0.1', port)); i++) await sleep(100);
}

beforeAll(async () => {
  address = `127.0.0.1:${await freePort()}`;
  ({ config, env } = await testConfig({ TEMPORAL_ADDRESS: address }));
  dbFile = join(config.home, 'temporal.db');
  await writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles: lifecycleRoles }));
  server = await startServer();
  client = new Client({ connection: await Connection.connect({ address }) });
});

afterAll(async () => {
  await stopAll();
  await client?.connection.close();
  await server?.stop();
});

describe('the dev server stopped and restarted mid-run (same SQLite file, same port)', () => {
  it('a crash during training and a stop at the approval gate: the run completes, once', async () => {
    const worker = await startWorkerProcess(env);
    const spec = faultLifecycle('fault-server', {
      model: MODEL,
      train: {
        model: 'mlp',
        layers: [16],
        epochs: 6,
        // batches of 8: training outlasts the heartbeat throttle, so a checkpoint reaches the server
        batchSize: 8,
        seed: 4,
        earlyStopping: { patience: 6 },
      },
      deploy: { strategy: 'direct', infra: { sampleRows: 50, maxP95Ms: 500 } },
    });
    const handle = await startRun(client, config, spec, {
      runParams: resolveRunParams(spec, {}),
      startedBy: 'dana',
    });

    // 1. SIGKILL the server while the worker trains; bring it back after 3 s of silence.
    await waitForActivity(handle, 'trainModel', (a) => a.heartbeat !== undefined);
    const firstPid = server?.pid;
    await takeDown('SIGKILL');
    const downAt = Date.now();
    await sleep(3_000);
    server = await startServer();

    // 2. Stop it cleanly while the run waits for sign-off; the run's state is all in the file.
    const gate = await awaitingGate(handle);
    await takeDown('SIGTERM');
    server = await startServer();

    // The same worker process and the same client carry on against the restarted server.
    const status = await finishRun(handle);
    expect(status.state).toBe('succeeded');
    // Training was under way when the server died, and finished (in this attempt or a resumed retry)
    // only after it was back.
    const train = status.steps.find((s) => s.id === 'train');
    const completed = await completionTimes(handle, 'trainModel');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toBeGreaterThan(downAt);
    expect(train?.output).toMatchObject({ metrics: { epochsRun: 6 } });
    expect(server?.pid).not.toBe(firstPid);
    expect(status.approvals[0]).toMatchObject({ state: 'approved', modelVersion: gate.modelVersion });
    expect(await verifyOutputs(status, config.home)).toBeGreaterThanOrEqual(5);
    const registry = await registryOf(MODEL, env);
    const version = expectOneVersionPerRun(registry, handle.workflowId, true);
    expect(registry.aliases.production).toBe(version);
    await verifyHome(config.home);
    expect(worker.output()).not.toMatch(/"msg":"worker stopped"/);
  });
});
