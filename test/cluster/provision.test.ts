// The production-shaped local cluster brought up by Sluice's own code (`sluice cluster up`): the
// system's PostgreSQL, the Temporal server built from v1.29.1 with its schema applied by the official
// SQL tool, and MinIO. One cluster for the whole file; a real `sluice worker` process runs against it.
import { mkdtemp, realpath, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterReport, PartStatus } from '../../infra/cluster/provision.js';
import { alive, sleep } from '../../infra/cluster/processes.js';
import { portOpen } from '../../infra/temporal/cluster.js';
import { sluice, startSluice, type LiveSluice } from '../support/cli.js';
import { dataDir, projectRoot } from '../support/paths.js';
import { cluster, clusterHome, envFile, freePortBlock } from './support.js';

let home: string;
let first: ClusterReport;
let ports: { temporal: number; postgres: number; minio: number };
let worker: LiveSluice | undefined;

const part = (report: ClusterReport, name: PartStatus['part']) => {
  const found = report.parts.find((p) => p.part === name);
  if (!found) throw new Error(`no ${name} in ${JSON.stringify(report)}`);
  return found;
};

beforeAll(async () => {
  home = await clusterHome();
  const base = await freePortBlock(14);
  ports = { temporal: base, postgres: base + 11, minio: base + 12 };
  const began = Date.now();
  first = await cluster('up', home, [
    '--temporal-port',
    String(ports.temporal),
    '--postgres-port',
    String(ports.postgres),
    '--minio-port',
    String(ports.minio),
  ]);
  console.log(`[cluster] up in ${((Date.now() - began) / 1000).toFixed(1)} s`, first.timings);
});

afterAll(async () => {
  await worker?.stop('SIGTERM');
  // Whatever a failed test left running is stopped; the last test checks `down` itself.
  if (home) await sluice(['cluster', 'down'], { SLUICE_HOME: home }, 180_000);
});

describe('sluice cluster up', () => {
  it('starts PostgreSQL, the Temporal server and MinIO on the chosen loopback ports and writes the env to use', async () => {
    expect(first.parts.map((p) => [p.part, p.running, p.started])).toEqual([
      ['postgres', true, true],
      ['temporal', true, true],
      ['minio', true, true],
    ]);
    expect(part(first, 'temporal')).toMatchObject({
      address: `127.0.0.1:${ports.temporal}`,
      version: 'Temporal server v1.29.1',
    });
    expect(part(first, 'postgres').version).toMatch(/^PostgreSQL 1\d$/);
    expect(first.env).toMatchObject({
      TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
      SLUICE_ARTIFACTS: 's3://sluice/artifacts',
      SLUICE_S3_ENDPOINT: `http://127.0.0.1:${ports.minio}`,
    });
    // The env file gives back the same variables, and only its owner may read the secret in it.
    expect(await envFile(home)).toEqual(first.env);
    expect((await stat(join(home, 'cluster', 'env'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(home, 'cluster', 'credentials.json'))).mode & 0o777).toBe(0o600);
    // The store answers with the generated credentials and the bucket exists.
    const s3 = new S3Client({
      endpoint: first.env['SLUICE_S3_ENDPOINT'] ?? '',
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: {
        accessKeyId: first.env['AWS_ACCESS_KEY_ID'] ?? '',
        secretAccessKey: first.env['AWS_SECRET_ACCESS_KEY'] ?? '',
      },
    });
    await expect(s3.send(new HeadBucketCommand({ Bucket: 'sluice' }))).resolves.toBeDefined();
    s3.destroy();
  });

  it('a second up changes nothing, and status shows the same processes without the secret', async () => {
    const again = await cluster('up', home);
    expect(again.parts.map((p) => [p.part, p.started, p.pid])).toEqual(
      first.parts.map((p) => [p.part, false, p.pid]),
    );
    const status = await cluster('status', home, []);
    expect(status.parts.every((p) => p.running)).toBe(true);
    expect(status.parts.map((p) => p.pid)).toEqual(first.parts.map((p) => p.pid));
    expect(status.env['TEMPORAL_ADDRESS']).toBe(`127.0.0.1:${ports.temporal}`);
    expect(status.env).not.toHaveProperty('AWS_SECRET_ACCESS_KEY');
  });

  it('a port another process holds is refused before anything starts, naming the port and the flag', async () => {
    const other = await mkdtemp(join(tmpdir(), 'sluice-cluster-other-'));
    const result = await sluice(['cluster', 'up', '--postgres-port', String(ports.postgres)], {
      SLUICE_HOME: other,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`port ${ports.postgres} on 127.0.0.1 (PostgreSQL) is already in use`);
    expect(result.stderr).toContain('--postgres-port');
  });
});

describe('Sluice on the cluster', () => {
  it('a real worker runs first-dag; PostgreSQL crashes while a run waits for approval, up restarts it, and the run completes', async () => {
    const workerHome = await mkdtemp(join(tmpdir(), 'sluice-cluster-worker-'));
    const rolesFile = join(workerHome, 'roles.json');
    await writeFile(rolesFile, JSON.stringify({ roles: { risk: ['risk-officer'] } }));
    const env = {
      ...(await envFile(home)),
      SLUICE_HOME: workerHome,
      // Not ~/.sluice/keys: a key left there by a demo run would sign this approval and be refused.
      SLUICE_KEYS_DIR: join(workerHome, 'keys'),
      SLUICE_ROLES_FILE: rolesFile,
      SLUICE_DATA_ROOTS: `${projectRoot}:${await realpath(dataDir)}`,
    };
    worker = startSluice(['worker'], { ...env, SLUICE_LOG_LEVEL: 'info' });
    await worker.waitFor(/"msg":"worker started"/, 120_000);

    const run = await sluice(['run', 'first-dag', '--wait', '--json', '--as', 'ada'], env, 120_000);
    expect(run.stderr).not.toMatch(/sluice:/);
    expect(JSON.parse(run.stdout)).toMatchObject({ state: 'succeeded', startedBy: 'ada' });

    const started = await sluice(
      ['run', 'test/integration/fixtures/event-approval.pipeline.ts', '--json', '--as', 'olivia'],
      env,
    );
    const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
    await untilStatus(env, workflowId, (doc) => doc.status?.approvals?.[0]?.state === 'awaiting');

    // A crash of the database (SIGQUIT: PostgreSQL's immediate shutdown, recovery on the next start).
    const pgPid = part(first, 'postgres').pid ?? -1;
    process.kill(pgPid, 'SIGQUIT');
    while (alive(pgPid)) await sleep(100);
    expect(await portOpen('127.0.0.1', ports.postgres)).toBe(false);

    const recovered = await cluster('up', home);
    expect(part(recovered, 'postgres')).toMatchObject({ running: true, started: true });
    expect(part(recovered, 'postgres').pid).not.toBe(pgPid);
    expect(part(recovered, 'temporal')).toMatchObject({ started: false, pid: part(first, 'temporal').pid });

    const approved = await sluice(['approve', workflowId, '--as', 'risk-officer', '--json'], env, 120_000);
    expect(approved.stderr).not.toMatch(/sluice:/);
    const done = await untilStatus(env, workflowId, (doc) => doc.temporalState === 'COMPLETED');
    expect(done.status?.state).toBe('succeeded');
    expect(worker.output()).not.toMatch(/"msg":"worker stopped"/);
  });
});

describe('after a crash', () => {
  it('the Temporal server and MinIO killed leave stale pid files; up starts both again and keeps PostgreSQL', async () => {
    const before = await cluster('status', home);
    for (const name of ['temporal', 'minio'] as const) {
      const pid = part(before, name).pid ?? -1;
      process.kill(pid, 'SIGKILL');
      while (alive(pid)) await sleep(50);
    }
    const crashed = await cluster('status', home);
    expect(crashed.parts.map((p) => [p.part, p.running])).toEqual([
      ['postgres', true],
      ['temporal', false],
      ['minio', false],
    ]);
    const recovered = await cluster('up', home);
    expect(recovered.parts.map((p) => [p.part, p.running, p.started])).toEqual([
      ['postgres', true, false],
      ['temporal', true, true],
      ['minio', true, true],
    ]);
    expect(part(recovered, 'temporal').pid).not.toBe(part(before, 'temporal').pid);
    expect(part(recovered, 'postgres').pid).toBe(part(before, 'postgres').pid);
  });
});

describe('sluice cluster down', () => {
  it('stops all three cleanly and frees their ports; status then shows nothing running', async () => {
    await worker?.stop('SIGTERM');
    worker = undefined;
    const down = await cluster('down', home);
    expect(down.parts.map((p) => [p.part, p.stopped, p.running])).toEqual([
      ['postgres', 'stopped', false],
      ['temporal', 'stopped', false],
      ['minio', 'stopped', false],
    ]);
    for (const port of [ports.temporal, ports.postgres, ports.minio]) {
      expect(await portOpen('127.0.0.1', port)).toBe(false);
    }
    const status = await cluster('status', home);
    expect(status.parts.some((p) => p.running)).toBe(false);
  });
});

interface StatusDoc {
  temporalState: string;
  status?: { state: string; approvals?: { state: string }[] } | null;
}

async function untilStatus(
  env: Record<string, string>,
  workflowId: string,
  done: (doc: StatusDoc) => boolean,
): Promise<StatusDoc> {
  let last = '';
  for (let i = 0; i < 240; i++) {
    const result = await sluice(['status', workflowId, '--json'], env);
    if (result.code === 0) {
      const doc = JSON.parse(result.stdout) as StatusDoc;
      if (done(doc)) return doc;
      last = result.stdout;
    } else {
      last = result.stderr;
    }
    await sleep(500);
  }
  throw new Error(`run ${workflowId} never reached the expected state; last: ${last}`);
}
