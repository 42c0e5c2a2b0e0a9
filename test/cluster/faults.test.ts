// Faults on the local cluster (PostgreSQL, the Temporal server, MinIO), every process on its own
// SLUICE_HOME: MinIO SIGKILLed mid-training and started again, PostgreSQL restarted mid-training, and a
// worker whose home is wiped at the approval gate. Each run completes, every artifact its history names
// verifies against the store, the history names no host path, and each run adds one registry version.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterPaths } from '../../infra/cluster/layout.js';
import { locatePostgres, stopPostgres } from '../../infra/cluster/postgres.js';
import { sleep } from '../../infra/cluster/processes.js';
import { describeModel } from '../../client/registry.js';
import { waitForActivity } from '../reliability/support/faults.js';
import { sluice } from '../support/cli.js';
import {
  atGate,
  checkPortableHistory,
  finished,
  startCluster,
  untilRun,
  type Machine,
  type TestCluster,
} from './machines.js';
import { cluster } from './support.js';

const pipelineFile = 'test/cluster/fixtures/faults.pipeline.ts';
let c: TestCluster;
let client: Client;
let cli: Machine;
let checker: Machine;
let runs = 0;

beforeAll(async () => {
  c = await startCluster();
  client = await c.client();
  cli = await c.machine('cli');
  checker = await c.machine('checker');
});

afterAll(async () => {
  await c?.close();
});

async function startRun(pipeline: string): Promise<string> {
  const started = await sluice(
    ['run', `${pipelineFile}#${pipeline}`, '--json', '--as', 'dana'],
    cli.env,
    120_000,
  );
  expect(started.code, started.stderr).toBe(0);
  return (JSON.parse(started.stdout) as { workflowId: string }).workflowId;
}

/** Approve at the gate, wait for the end, and check the invariants every run keeps. */
async function approveAndFinish(workflowId: string, homes: string[]): Promise<void> {
  const gate = await untilRun(client, workflowId, atGate);
  expect(gate.temporalState, JSON.stringify(gate.status)).toBe('RUNNING');
  const approved = await sluice(['approve', workflowId, '--as', 'rita', '--json'], cli.env, 120_000);
  expect(approved.code, approved.stderr).toBe(0);
  const done = await untilRun(client, workflowId, finished);
  expect(done.status?.state, JSON.stringify(done.status?.steps.filter((s) => s.state !== 'succeeded'))).toBe(
    'succeeded',
  );
  const { refs } = await checkPortableHistory(client, workflowId, checker, [...homes, cli.home, c.home]);
  expect(refs).toBeGreaterThanOrEqual(5); // dataset, splits, transform, model, card, reports…
  runs++;
  const registry = await describeModel(client, 'delay-faults');
  expect(registry.versions).toHaveLength(runs);
  expect(registry.versions.at(-1)?.workflowId).toBe(workflowId);
}

describe('faults on the cluster', () => {
  it('MinIO SIGKILLed mid-training and started again: the run waits for the store and completes', async () => {
    const w = await c.machine('worker-minio');
    const worker = await c.startWorker(w);
    const workflowId = await startRun('fault-minio');
    await waitForActivity(client.workflow.getHandle(workflowId), 'trainModel', () => true, 300_000);
    const paths = clusterPaths(c.home);
    const pid = Number((await readFile(paths.minio.pidFile, 'utf8')).trim());
    process.kill(pid, 'SIGKILL');
    // Down for longer than a step's default retries (1 s, then 2 s) would cover.
    await sleep(8000);
    await cluster('up', c.home);
    await approveAndFinish(workflowId, [w.home]);
    // The outage was seen and named by its endpoint, not hidden.
    expect(worker.output()).toContain(
      `the S3 store at ${c.env['SLUICE_S3_ENDPOINT']} is unavailable (ECONNREFUSED)`,
    );
    expect(await worker.stop('SIGTERM')).toBe(0);
  });

  it('PostgreSQL restarted mid-training: the Temporal server and the run carry on', async () => {
    const w = await c.machine('worker-postgres');
    const worker = await c.startWorker(w);
    const workflowId = await startRun('fault-postgres');
    await waitForActivity(client.workflow.getHandle(workflowId), 'trainModel', () => true, 300_000);
    expect(await stopPostgres(await locatePostgres(), clusterPaths(c.home))).toBe(true);
    await sleep(3000);
    const up = await cluster('up', c.home);
    expect(up.parts.find((p) => p.part === 'postgres')?.started).toBe(true);
    // The Temporal server rode the outage out (it was not restarted); only PostgreSQL came back.
    expect(up.parts.find((p) => p.part === 'temporal')?.started).toBe(false);
    await approveAndFinish(workflowId, [w.home]);
    expect(await worker.stop('SIGTERM')).toBe(0);
  });

  it('a worker whose SLUICE_HOME is wiped at the gate refetches what it needs by hash and the run completes', async () => {
    const w = await c.machine('worker-wiped');
    const worker = await c.startWorker(w);
    const workflowId = await startRun('fault-wiped-home');
    await untilRun(client, workflowId, atGate);
    expect((await readdir(join(w.home, 'artifact-cache'), { recursive: true })).length).toBeGreaterThan(0);
    for (const entry of await readdir(w.home))
      await rm(join(w.home, entry), { recursive: true, force: true });
    await approveAndFinish(workflowId, [w.home]);
    // Registering and the deploy's infra validation read the model and its test split again, by hash.
    expect((await readdir(join(w.home, 'artifact-cache'), { recursive: true })).length).toBeGreaterThan(0);
    expect(await worker.stop('SIGTERM')).toBe(0);
  });
});
