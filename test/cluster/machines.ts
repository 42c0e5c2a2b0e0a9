import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { sleep } from '../../infra/cluster/processes.js';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { loadConfig } from '../../lib/config.js';
import type { ArtifactRef } from '../../pipelines/artifact.js';
import { lifecycleRoles } from '../integration/fixtures/lifecycle.js';
import { sluice, startSluice, type LiveSluice } from '../support/cli.js';
import { dataDir, projectRoot } from '../support/paths.js';
import { cluster, clusterHome, envFile, freePortBlock } from './support.js';

/** A machine of the simulated cluster: its own SLUICE_HOME and the cluster's variables, nothing shared. */
export interface Machine {
  name: string;
  home: string;
  env: Record<string, string>;
}

/**
 * One local cluster (PostgreSQL, the Temporal server, MinIO) for a whole test file, and the machines
 * (homes) and processes the file starts on it; `close` stops and removes all of them.
 */
export interface TestCluster {
  home: string;
  env: Record<string, string>;
  /** A fresh machine: its own home (with a copy of the roles file), the cluster's variables. */
  machine(name: string): Promise<Machine>;
  /** `sluice worker` on a machine, resolved once it polls. */
  startWorker(machine: Machine): Promise<LiveSluice>;
  /** Any long-running `sluice` command on a machine, stopped by `close`. */
  start(args: string[], env: Record<string, string>): LiveSluice;
  /** A Temporal client on the cluster (closed by `close`). */
  client(): Promise<Client>;
  close(): Promise<void>;
}

export async function startCluster(): Promise<TestCluster> {
  const home = await clusterHome();
  const base = await freePortBlock(14);
  const ports = ['--temporal-port', String(base), '--postgres-port', String(base + 11)];
  await cluster('up', home, [...ports, '--minio-port', String(base + 12)]);
  const env = await envFile(home);
  const homes: string[] = [];
  const running: LiveSluice[] = [];
  let connection: Connection | undefined;
  const start = (args: string[], machineEnv: Record<string, string>): LiveSluice => {
    const process = startSluice(args, machineEnv);
    running.push(process);
    return process;
  };
  return {
    home,
    env,
    async machine(name) {
      const dir = await mkdtemp(join(tmpdir(), `sluice-${name}-`));
      homes.push(dir);
      await writeFile(join(dir, 'roles.json'), JSON.stringify({ roles: lifecycleRoles }));
      return {
        name,
        home: dir,
        env: {
          ...env,
          SLUICE_HOME: dir,
          SLUICE_KEYS_DIR: join(dir, 'keys'), // not ~/.sluice/keys, which a demo run may have filled
          SLUICE_DATA_ROOTS: `${projectRoot}:${await realpath(dataDir)}`,
          SLUICE_LOG_LEVEL: 'info',
        },
      };
    },
    async startWorker(machine) {
      const worker = start(['worker'], machine.env);
      await worker.waitFor(/"msg":"worker started"/, 180_000);
      return worker;
    },
    start,
    async client() {
      connection ??= await Connection.connect({ address: env['TEMPORAL_ADDRESS'] ?? '' });
      return new Client({ connection, namespace: env['TEMPORAL_NAMESPACE'] ?? 'default' });
    },
    async close() {
      await Promise.all(running.map((process) => process.stop('SIGTERM')));
      await connection?.close();
      await sluice(['cluster', 'down'], { SLUICE_HOME: home }, 180_000);
      for (const dir of [...homes, home]) await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface StatusDoc {
  temporalState: string;
  status?: {
    state: string;
    approvals?: { step: string; state: string }[];
    steps: { id: string; state: string; attempt?: number; output?: unknown; error?: unknown }[];
  } | null;
}

/** Poll `sluice status <id> --json` on a machine until `done` holds (at most ~10 minutes). */
export async function untilStatus(
  env: Record<string, string>,
  workflowId: string,
  done: (doc: StatusDoc) => boolean,
): Promise<StatusDoc> {
  let last = '';
  for (let i = 0; i < 600; i++) {
    const result = await sluice(['status', workflowId, '--json'], env);
    if (result.code === 0) {
      const doc = JSON.parse(result.stdout) as StatusDoc;
      if (done(doc)) return doc;
      last = result.stdout;
    } else {
      last = result.stderr;
    }
    await sleep(1000);
  }
  throw new Error(`run ${workflowId} never reached the expected state; last: ${last}`);
}

/**
 * Like {@link untilStatus}, through a Temporal client in this process (the run's `status` query and
 * its execution state) instead of a `sluice status` process a second: cheaper on a small machine.
 */
export async function untilRun(
  client: Client,
  workflowId: string,
  done: (doc: StatusDoc) => boolean,
  timeoutMs = 600_000,
): Promise<StatusDoc> {
  const handle = client.workflow.getHandle(workflowId);
  const deadline = Date.now() + timeoutMs;
  let last: StatusDoc | undefined;
  while (Date.now() < deadline) {
    const description = await handle.describe().catch(() => undefined);
    if (description) {
      const status = await handle.query<StatusDoc['status']>('status').catch(() => undefined);
      if (status !== undefined) {
        const doc: StatusDoc = { temporalState: description.status.name, status };
        last = doc;
        if (done(doc)) return doc;
      }
    }
    await sleep(250);
  }
  throw new Error(`run ${workflowId} never reached the expected state; last: ${JSON.stringify(last)}`);
}

export const atGate = (doc: StatusDoc): boolean =>
  Boolean(doc.status?.approvals?.some((g) => g.state === 'awaiting')) || doc.temporalState !== 'RUNNING';
export const finished = (doc: StatusDoc): boolean => doc.temporalState !== 'RUNNING';

/** Every payload of a workflow history as text (they are JSON), for looking for host paths and refs. */
export async function historyText(client: Client, workflowId: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const texts: string[] = [];
  const walk = (value: unknown): void => {
    if (value instanceof Uint8Array) texts.push(Buffer.from(value).toString('utf8'));
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(history);
  return texts.join('\n');
}

/** Every artifact ref (`{ uri: 'sluice://sha256/…', sha256, … }`) in a history's JSON payloads. */
export function artifactRefs(history: string): ArtifactRef[] {
  const refs = new Map<string, ArtifactRef>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if (
        typeof record['uri'] === 'string' &&
        record['uri'].startsWith('sluice://sha256/') &&
        typeof record['sha256'] === 'string'
      ) {
        refs.set(record['sha256'], record as unknown as ArtifactRef);
      }
      Object.values(record).forEach(walk);
    }
  };
  for (const line of history.split('\n')) {
    try {
      walk(JSON.parse(line));
    } catch {
      // not a JSON payload (a binary or a partial line): no refs in it
    }
  }
  return [...refs.values()];
}

/**
 * Verify every ref against the store from a machine that never saw them (an empty read-through
 * cache): each is downloaded and hashed. Returns how many were verified.
 */
export async function verifyInStore(machine: Machine, refs: ArtifactRef[]): Promise<number> {
  const config = loadConfig(machine.env, machine.home);
  const store = createArtifactStore(config.home, config.artifacts);
  for (const ref of refs) await store.verify(ref);
  return refs.length;
}

/** The invariants every cluster run keeps: refs by hash only, no host path, every ref in the store. */
export async function checkPortableHistory(
  client: Client,
  workflowId: string,
  checker: Machine,
  homes: string[],
): Promise<{ refs: number }> {
  const history = await historyText(client, workflowId);
  const problems: string[] = [];
  if (history.includes('file://')) problems.push('a file:// URI');
  for (const home of homes) if (history.includes(home)) problems.push(`the home ${home}`);
  if (problems.length > 0) throw new Error(`the history of ${workflowId} names ${problems.join(', ')}`);
  const refs = artifactRefs(history);
  return { refs: await verifyInStore(checker, refs) };
}
