// Nothing assumes a shared disk: on the local cluster (PostgreSQL, the Temporal server, MinIO), one
// worker runs the flights lifecycle up to its approval gate and stops; a second worker with another
// SLUICE_HOME takes the run on after approval; `sluice serve` on a third home loads the promoted model
// from the store and answers; the monitor on a fourth home reads its prediction log and feedback from
// the store. The homes share nothing; the history names no host path.
import { mkdtemp, readdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { readLabeledPredictions } from '../../lib/feedback-log.js';
import { mirrorPredictionLog, sharedLogsFor } from '../../lib/shared-logs.js';
import { flightRows } from '../integration/fixtures/serving.js';
import { lifecycleRoles } from '../integration/fixtures/lifecycle.js';
import { waitForActivity } from '../reliability/support/faults.js';
import { sluice, startSluice, type LiveSluice } from '../support/cli.js';
import { dataDir, freePort, projectRoot } from '../support/paths.js';
import { untilStatus } from './machines.js';
import { cluster, clusterHome, envFile, freePortBlock } from './support.js';

const pipelineFile = 'test/cluster/fixtures/delay-cluster.pipeline.ts';
let home: string;
let clusterEnv: Record<string, string>;
const homes: string[] = [];
const running: LiveSluice[] = [];

beforeAll(async () => {
  home = await clusterHome();
  const base = await freePortBlock(14);
  await cluster('up', home, [
    '--temporal-port',
    String(base),
    '--postgres-port',
    String(base + 11),
    '--minio-port',
    String(base + 12),
  ]);
  clusterEnv = await envFile(home);
});

afterAll(async () => {
  for (const process of running) await process.stop('SIGTERM');
  if (home) await sluice(['cluster', 'down'], { SLUICE_HOME: home }, 180_000);
  for (const dir of [...homes, home]) if (dir) await rm(dir, { recursive: true, force: true });
});

/** A machine of its own: a fresh SLUICE_HOME (with its copy of the roles file) and the cluster's variables. */
async function machine(name: string): Promise<{ home: string; env: Record<string, string> }> {
  const dir = await mkdtemp(join(tmpdir(), `sluice-${name}-`));
  homes.push(dir);
  await writeFile(join(dir, 'roles.json'), JSON.stringify({ roles: lifecycleRoles }));
  return {
    home: dir,
    env: {
      ...clusterEnv,
      SLUICE_HOME: dir,
      SLUICE_KEYS_DIR: join(dir, 'keys'), // not ~/.sluice/keys, which a demo run may have filled
      SLUICE_DATA_ROOTS: `${projectRoot}:${await realpath(dataDir)}`,
      SLUICE_LOG_LEVEL: 'info',
    },
  };
}

async function startWorker(env: Record<string, string>): Promise<LiveSluice> {
  const worker = startSluice(['worker'], env);
  running.push(worker);
  await worker.waitFor(/"msg":"worker started"/, 180_000);
  return worker;
}

/** Every payload of a workflow history as text (they are JSON), for looking for host paths. */
async function historyText(workflowId: string): Promise<string> {
  const connection = await Connection.connect({ address: clusterEnv['TEMPORAL_ADDRESS'] ?? '' });
  try {
    const client = new Client({ connection, namespace: clusterEnv['TEMPORAL_NAMESPACE'] ?? 'default' });
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const texts: string[] = [];
    const walk = (value: unknown): void => {
      if (value instanceof Uint8Array) texts.push(Buffer.from(value).toString('utf8'));
      else if (Array.isArray(value)) value.forEach(walk);
      else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
    };
    walk(history);
    return texts.join('\n');
  } finally {
    await connection.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('workers and serving on separate homes, sharing only Temporal and the store', () => {
  it('one worker trains, another registers after approval, serving on a third home loads the promoted model, a fourth reads its logs', async () => {
    const a = await machine('worker-a');
    const b = await machine('worker-b');
    const serving = await machine('serving');
    const cli = await machine('cli');

    const workerA = await startWorker(a.env);
    const started = await sluice(
      ['run', `${pipelineFile}#delay-cluster`, '--json', '--as', 'dana'],
      cli.env,
      120_000,
    );
    expect(started.code, started.stderr).toBe(0);
    const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
    const atGate = await untilStatus(cli.env, workflowId, (doc) =>
      Boolean(doc.status?.approvals?.some((g) => g.state === 'awaiting')),
    );
    expect(atGate.status?.steps.filter((s) => s.state === 'succeeded').map((s) => s.id)).toEqual(
      expect.arrayContaining(['ingest', 'validate', 'train', 'evaluate', 'card']),
    );
    // Worker A leaves; everything it made is in the bucket, nothing in a store on its disk.
    expect(await workerA.stop('SIGTERM')).toBe(0);
    expect(await exists(join(a.home, 'artifacts'))).toBe(false);

    const workerB = await startWorker(b.env);
    const approved = await sluice(['approve', workflowId, '--as', 'rita', '--json'], cli.env, 120_000);
    expect(approved.code, approved.stderr).toBe(0);
    const done = await untilStatus(cli.env, workflowId, (doc) => doc.temporalState !== 'RUNNING');
    expect(done.status?.state).toBe('succeeded');
    expect(await exists(join(b.home, 'artifacts'))).toBe(false);
    // B read A's model manifest (to register it) through its own read-through cache.
    expect((await readdir(join(b.home, 'artifact-cache'), { recursive: true })).length).toBeGreaterThan(0);

    const promoted = await sluice(
      ['promote', 'delay-cluster', '1', '--as', 'grace', '--reason', 'cluster test', '--json'],
      cli.env,
      120_000,
    );
    expect(promoted.code, promoted.stderr).toBe(0);

    const port = await freePort();
    const serve = startSluice(['serve', '--model', 'delay-cluster', '--poll', '0'], {
      ...serving.env,
      SLUICE_SERVE_PORT: String(port),
    });
    running.push(serve);
    await serve.waitFor(/"msg":"serving"/, 120_000);
    const rows = await flightRows(5);
    const response = await fetch(`http://127.0.0.1:${port}/v1/models/delay-cluster:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: rows }),
    });
    const answer = (await response.json()) as { predictions?: unknown[]; requestId?: string };
    expect(response.status, JSON.stringify(answer)).toBe(200);
    expect(answer.predictions).toHaveLength(5);
    expect(JSON.stringify(answer)).toContain('"version":1');
    expect(await exists(join(serving.home, 'artifacts'))).toBe(false);

    // Ground truth for the first instance, then serving stops (its last log file is flushed and published).
    const token = await sluice(
      ['token', 'create', '--identity', 'carl', '--role', 'feedback', '--json'],
      serving.env,
    );
    expect(token.code, token.stderr).toBe(0);
    const feedback = await fetch(`http://127.0.0.1:${port}/v1/feedback`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${(JSON.parse(token.stdout) as { token: string }).token}`,
      },
      body: JSON.stringify({ requestId: answer.requestId, instance: 0, label: true }),
    });
    expect(feedback.status).toBe(202);
    expect(await serve.stop('SIGTERM')).toBe(0);

    // The monitor on another machine reads what serving logged, through the store.
    const monitor = await machine('monitor');
    const config = loadConfig(monitor.env, monitor.home);
    const shared = sharedLogsFor(config.artifacts);
    if (!shared) throw new Error('the cluster env should choose the S3 store');
    const logged = await readLabeledPredictions(
      await mirrorPredictionLog(shared, monitor.home, 'delay-cluster'),
      'delay-cluster',
    );
    expect(logged).toHaveLength(5);
    expect(logged.filter((row) => row.label === true).map((row) => [row.requestId, row.instance])).toEqual([
      [answer.requestId, 0],
    ]);
    expect(new Set(logged.map((row) => row.version))).toEqual(new Set([1]));
    expect(await workerB.stop('SIGTERM')).toBe(0); // the next test's workers must be the only ones polling

    // The history is portable: artifacts are named by hash, never by a path on one of the machines.
    const history = await historyText(workflowId);
    expect(history).toContain('sluice://sha256/');
    expect(history).not.toContain('file://');
    for (const dir of [a.home, b.home, serving.home, cli.home]) expect(history).not.toContain(dir);
  });

  it('a worker SIGKILLed mid-training is replaced by one on another home, which resumes from the checkpoint in the store', async () => {
    const a = await machine('trainer-a');
    const b = await machine('trainer-b');
    const cli = await machine('cli-resume');
    const workerA = await startWorker(a.env);
    const started = await sluice(
      ['run', `${pipelineFile}#delay-resume`, '--json', '--as', 'dana'],
      cli.env,
      120_000,
    );
    expect(started.code, started.stderr).toBe(0);
    const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };

    const connection = await Connection.connect({ address: clusterEnv['TEMPORAL_ADDRESS'] ?? '' });
    try {
      const client = new Client({ connection, namespace: clusterEnv['TEMPORAL_NAMESPACE'] ?? 'default' });
      const handle = client.workflow.getHandle(workflowId);
      const seen = await waitForActivity(
        handle,
        'trainModel',
        (activity) => epochOf(activity.heartbeat) >= 1,
        300_000,
      );
      await workerA.stop('SIGKILL');
      await startWorker(b.env);
      const atGate = await untilStatus(cli.env, workflowId, (doc) =>
        Boolean(doc.status?.approvals?.some((g) => g.state === 'awaiting')),
      );
      const train = atGate.status?.steps.find((s) => s.id === 'train') as
        | { attempt: number; output: { resumedFromEpoch: number | null; metrics: { epochsRun: number } } }
        | undefined;
      expect(train?.attempt).toBeGreaterThan(seen.attempt);
      expect(train?.output.resumedFromEpoch).toBeGreaterThanOrEqual(epochOf(seen.heartbeat));
      expect(train?.output.metrics.epochsRun).toBe(6);
      // B read A's checkpoint from the bucket: neither home holds a local store.
      expect(await exists(join(a.home, 'artifacts'))).toBe(false);
      expect(await exists(join(b.home, 'artifacts'))).toBe(false);
      await handle.terminate('the resume test ends at the approval gate');
    } finally {
      await connection.close();
    }
  });
});

/** The epoch a training heartbeat reports (0 before the first epoch ends). */
function epochOf(heartbeat: unknown): number {
  const epoch = (heartbeat as { epoch?: unknown } | undefined)?.epoch;
  return typeof epoch === 'number' ? epoch : 0;
}
