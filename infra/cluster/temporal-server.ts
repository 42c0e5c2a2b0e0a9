import { execFile } from 'node:child_process';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { DependencyUnavailableError } from '../../pipelines/errors.js';
import { sluiceSearchAttributes } from '../../pipelines/search-attributes.js';
import { ensureNamespaceReady, probeTemporal } from '../temporal/cluster.js';
import { devServerDynamicConfig } from '../temporal/dev-server.js';
import { portOwners, type ClusterPaths, type ClusterPorts } from './layout.js';
import { renderDynamicConfig, renderServerConfig } from './render.js';
import { ensurePortsFree, runningPid, sleep, startDaemon, stopDaemon, waitReady } from './processes.js';

const run = promisify(execFile);

/** The two databases and the schema each gets, embedded in the SQL tool of the same release. */
const databases = [
  { name: 'temporal', schema: 'postgresql/v12/temporal' },
  { name: 'temporal_visibility', schema: 'postgresql/v12/visibility' },
] as const;

/**
 * Create both databases and bring their schemas to the release's version with the official tool:
 * `create-database` (an existing one is fine), `setup-schema -v 0.0` (skipped once versioned) and
 * `update-schema` (applies only what is missing). Safe to run on every `up`.
 */
export async function applySchema(
  sqlTool: string,
  paths: ClusterPaths,
  postgresPort: number,
): Promise<number> {
  const began = Date.now();
  await mkdir(dirname(paths.temporal.schemaLog), { recursive: true });
  for (const database of databases) {
    const base = ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(postgresPort)];
    const db = [...base, '-u', 'temporal', '--db', database.name];
    const steps: { name: string; args: string[]; tolerate?: RegExp }[] = [
      { name: 'create-database', args: [...db, 'create-database'], tolerate: /already exists/ },
      { name: 'setup-schema', args: [...db, 'setup-schema', '-v', '0.0'] },
      { name: 'update-schema', args: [...db, 'update-schema', '--schema-name', database.schema] },
    ];
    for (const step of steps) {
      try {
        const { stdout, stderr } = await run(sqlTool, step.args, {
          timeout: 120_000,
          maxBuffer: 16 * 1024 * 1024,
        });
        await appendFile(
          paths.temporal.schemaLog,
          `$ ${basename(sqlTool)} ${step.args.join(' ')}\n${stdout}${stderr}`,
        );
      } catch (error) {
        const output = `${(error as { stdout?: string }).stdout ?? ''}${(error as { stderr?: string }).stderr ?? ''}`;
        await appendFile(
          paths.temporal.schemaLog,
          `$ ${basename(sqlTool)} ${step.args.join(' ')}\n${output}`,
        );
        if (step.tolerate?.test(output)) continue;
        throw new DependencyUnavailableError(
          `the Temporal schema for database ${database.name} could not be applied (${step.name}): read ${paths.temporal.schemaLog}`,
          { cause: error, details: { logFile: paths.temporal.schemaLog } },
        );
      }
    }
  }
  return (Date.now() - began) / 1000;
}

/** Write the server's config and dynamic config (absolute paths) for these ports. */
export async function writeServerConfig(paths: ClusterPaths, ports: ClusterPorts): Promise<void> {
  await mkdir(paths.temporal.configDir, { recursive: true });
  await writeFile(paths.temporal.dynamicConfigFile, renderDynamicConfig(devServerDynamicConfig));
  await writeFile(
    paths.temporal.configFile,
    renderServerConfig({ ports, dynamicConfigFile: paths.temporal.dynamicConfigFile }),
  );
}

/**
 * Start the Temporal server on PostgreSQL (already running, schema applied), wait until its frontend
 * answers, then make the namespace ready with Sluice's search attributes and wait until both are
 * usable (the server caches namespaces and search attributes for seconds after they change).
 * Idempotent: a server already running from this cluster directory is reused.
 */
export async function startTemporalServer(options: {
  binary: string;
  paths: ClusterPaths;
  ports: ClusterPorts;
  namespace: string;
  readyTimeoutMs?: number;
}): Promise<{ pid: number; started: boolean; seconds: number }> {
  const { binary, paths, ports } = options;
  const began = Date.now();
  const address = `127.0.0.1:${ports.frontend}`;
  let pid = await runningPid(paths.temporal.pidFile, binary);
  const started = pid === undefined;
  if (pid === undefined) {
    await ensurePortsFree(
      portOwners(ports).filter((owner) => owner.part === 'temporal'),
      '--temporal-port',
    );
    await writeServerConfig(paths, ports);
    pid = await startDaemon({
      binary,
      args: [
        '--root',
        dirname(paths.temporal.configDir),
        '--config',
        basename(paths.temporal.configDir),
        '--env',
        basename(paths.temporal.configFile, '.yaml'),
        '--allow-no-auth',
        'start',
      ],
      cwd: paths.temporal.dir,
      logFile: paths.temporal.log,
      pidFile: paths.temporal.pidFile,
    });
  }
  const timeoutMs = options.readyTimeoutMs ?? 120_000;
  await waitReady({
    what: `the Temporal server (pid ${pid}, ${address})`,
    pid,
    logFile: paths.temporal.log,
    timeoutMs,
    ready: async () => (await probeTemporal(address, 2_000)).kind === 'temporal',
  });
  await prepareNamespace(address, options.namespace, paths.temporal.log, Date.now() + timeoutMs);
  return { pid, started, seconds: (Date.now() - began) / 1000 };
}

/**
 * Register the namespace and Sluice's search attributes (the code `sluice dev` and the worker use),
 * then wait until a visibility query on those attributes is accepted: a fresh namespace is "not found"
 * until the server's namespace cache refreshes.
 */
async function prepareNamespace(address: string, namespace: string, logFile: string, deadline: number) {
  const connection = await Connection.connect({ address });
  let lastError = '';
  try {
    while (Date.now() < deadline) {
      try {
        await ensureNamespaceReady(connection, namespace);
        await connection.workflowService.listWorkflowExecutions({
          namespace,
          pageSize: 1,
          query: sluiceSearchAttributes.map((key) => `${key.name} = 'probe'`).join(' AND '),
        });
        return;
      } catch (error) {
        lastError = (error as Error).message.split('\n')[0] ?? String(error);
        await sleep(500);
      }
    }
  } finally {
    await connection.close();
  }
  throw new DependencyUnavailableError(
    `the Temporal server at ${address} did not make namespace "${namespace}" usable in time (${lastError}): read ${logFile}`,
  );
}

/** SIGTERM the server (it drains for a few seconds), SIGKILL after 30 s. */
export async function stopTemporalServer(
  binary: string,
  paths: ClusterPaths,
): Promise<'stopped' | 'killed' | 'not running'> {
  const pid = await runningPid(paths.temporal.pidFile, binary);
  if (pid === undefined) return 'not running';
  return stopDaemon(pid, paths.temporal.pidFile, 30_000);
}
