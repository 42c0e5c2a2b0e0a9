import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../../pipelines/errors.js';
import { probeTemporal } from '../temporal/cluster.js';
import {
  ensureGoBinary,
  MINIO,
  readRecord,
  TEMPORAL_SERVER,
  TEMPORAL_SQL_TOOL,
  type GoComponent,
  type LocatedBinary,
} from './go-build.js';
import {
  clusterPaths,
  clusterStateSchema,
  defaultBucket,
  planPorts,
  portOwners,
  type ClusterPaths,
  type ClusterPorts,
  type ClusterState,
  type PortChoice,
} from './layout.js';
import { ensureCredentials, minioLive, startMinio, stopMinio } from './minio.js';
import {
  locatePostgres,
  postgresProcess,
  startPostgres,
  stopPostgres,
  type PostgresInstall,
} from './postgres.js';
import { ensurePortsFree, runningPid } from './processes.js';
import { clusterEnv, renderEnvFile } from './render.js';
import { applySchema, startTemporalServer, stopTemporalServer } from './temporal-server.js';

export type PartName = 'postgres' | 'temporal' | 'minio';

/** One part of the cluster as `status` (and `up`, `down`) report it. */
export interface PartStatus {
  part: PartName;
  running: boolean;
  pid?: number;
  address: string;
  version: string;
  log: string;
  /** `up`: started now (false: was already running); seconds it took to start and become ready. */
  started?: boolean;
  seconds?: number;
  /** `down`: what happened. */
  stopped?: 'stopped' | 'killed' | 'not running';
}

export interface ClusterReport {
  root: string;
  envFile: string;
  /** The variables to use the cluster with (secrets included: the CLI prints them only on request). */
  env: Record<string, string>;
  parts: PartStatus[];
  /** Build and schema times of this `up`, in seconds. */
  timings: Record<string, number>;
}

export interface ClusterOptions {
  /** Absolute `SLUICE_HOME`. */
  home: string;
  /** `PATH`, to find Go. */
  searchPath: string;
  namespace?: string;
  onProgress?: (line: string) => void;
}

/** Find or build everything the cluster runs (`sluice setup --cluster`, and the start of `up`). */
export async function ensureClusterBinaries(options: ClusterOptions & { allowBuild?: boolean }): Promise<{
  postgres: PostgresInstall;
  sqlTool: LocatedBinary;
  server: LocatedBinary;
  minio: LocatedBinary;
}> {
  const postgres = await locatePostgres();
  const build = (component: GoComponent) =>
    ensureGoBinary(component, {
      binDir: join(options.home, 'bin'),
      searchPath: options.searchPath,
      ...(options.allowBuild === undefined ? {} : { allowBuild: options.allowBuild }),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  // One after another: each build wants every core.
  const sqlTool = await build(TEMPORAL_SQL_TOOL);
  const server = await build(TEMPORAL_SERVER);
  const minio = await build(MINIO);
  return { postgres, sqlTool, server, minio };
}

async function readState(paths: ClusterPaths): Promise<ClusterState | undefined> {
  const text = await readFile(paths.stateFile, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const parsed = clusterStateSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new ConfigurationError(
      `${paths.stateFile} is not a cluster state Sluice wrote (${parsed.error.issues[0]?.message ?? 'unknown'}): ` +
        'run `sluice cluster down`, remove the file and run `sluice cluster up` again',
    );
  }
  return parsed.data;
}

function samePorts(a: ClusterPorts, b: ClusterPorts): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * `sluice cluster up`: PostgreSQL, the Temporal server on it (schema applied, namespace and search
 * attributes ready) and MinIO with its bucket, each started only if it is not already running from
 * this cluster directory; then the env file. Safe to repeat, and after a crash.
 */
export async function clusterUp(options: ClusterOptions & { ports?: PortChoice }): Promise<ClusterReport> {
  const progress = options.onProgress ?? (() => undefined);
  const paths = clusterPaths(options.home);
  const previous = await readState(paths);
  const chosen = Object.values(options.ports ?? {}).some((value) => value !== undefined);
  const ports = previous && !chosen ? previous.ports : planPorts(options.ports);
  if (previous && !samePorts(previous.ports, ports) && (await anyRunning(paths, previous))) {
    throw new ConfigurationError(
      `the cluster in ${paths.root} runs on other ports (Temporal ${previous.ports.frontend}, PostgreSQL ${previous.ports.postgres}, MinIO ${previous.ports.minio}): run \`sluice cluster down\` before choosing new ones`,
    );
  }
  const state: ClusterState = previous
    ? { ...previous, ports }
    : {
        version: 1,
        ports,
        ...defaultBucket,
        namespace: options.namespace ?? 'default',
        createdAt: new Date().toISOString(),
      };
  // Every port a part that is not running yet needs must be free, before anything starts or builds.
  const running = new Set(
    previous ? (await describeParts(paths, previous)).filter((p) => p.running).map((p) => p.part) : [],
  );
  const flags: Record<PartName, string> = {
    postgres: '--postgres-port',
    temporal: '--temporal-port',
    minio: '--minio-port',
  };
  for (const part of ['postgres', 'temporal', 'minio'] as const) {
    if (running.has(part)) continue;
    await ensurePortsFree(
      portOwners(ports).filter((owner) => owner.part === part),
      flags[part],
    );
  }
  const timings: Record<string, number> = {};
  const began = Date.now();
  const binaries = await ensureClusterBinaries(options);
  for (const [name, binary] of Object.entries(binaries)) {
    if ('buildSeconds' in binary && binary.buildSeconds !== undefined)
      timings[`build ${name}`] = binary.buildSeconds;
  }
  await mkdir(paths.root, { recursive: true });
  await writeFile(paths.stateFile, `${JSON.stringify(state, null, 2)}\n`);

  progress(`starting PostgreSQL ${binaries.postgres.version} on 127.0.0.1:${ports.postgres}`);
  const postgres = await startPostgres(binaries.postgres, paths, ports.postgres, progress);
  const serverRunning = (await runningPid(paths.temporal.pidFile, binaries.server.path)) !== undefined;
  if (!serverRunning) {
    progress('applying the Temporal schema (temporal, temporal_visibility)');
    timings['schema'] = await applySchema(binaries.sqlTool.path, paths, ports.postgres);
  }
  progress(`starting the Temporal server ${TEMPORAL_SERVER.version} on 127.0.0.1:${ports.frontend}`);
  const temporal = await startTemporalServer({
    binary: binaries.server.path,
    paths,
    ports,
    namespace: state.namespace,
  });
  const credentials = await ensureCredentials(paths);
  progress(`starting MinIO on 127.0.0.1:${ports.minio}`);
  const minio = await startMinio({
    binary: binaries.minio.path,
    paths,
    ports,
    credentials,
    bucket: state.bucket,
  });
  const env = clusterEnv(state, credentials);
  await writeFile(paths.envFile, renderEnvFile(env), { mode: 0o600 });
  await chmod(paths.envFile, 0o600);
  timings['up'] = (Date.now() - began) / 1000;

  const parts = await describeParts(paths, state, binaries);
  const startedBy: Record<PartName, { started: boolean; seconds: number }> = { postgres, temporal, minio };
  return {
    root: paths.root,
    envFile: paths.envFile,
    env,
    parts: parts.map((part) => ({
      ...part,
      started: startedBy[part.part].started,
      seconds: round(startedBy[part.part].seconds),
    })),
    timings: Object.fromEntries(Object.entries(timings).map(([key, value]) => [key, round(value)])),
  };
}

/**
 * `sluice cluster down`: the Temporal server first (it needs the database to drain), then MinIO, then
 * PostgreSQL (`pg_ctl stop -m fast`). Each with a deadline; data stays for the next `up`.
 */
export async function clusterDown(options: ClusterOptions): Promise<ClusterReport> {
  const paths = clusterPaths(options.home);
  const state = await requireState(paths);
  const progress = options.onProgress ?? (() => undefined);
  const bin = join(options.home, 'bin');
  progress('stopping the Temporal server');
  const temporal = await stopTemporalServer(join(bin, TEMPORAL_SERVER.binary), paths);
  progress('stopping MinIO');
  const minio = await stopMinio(join(bin, MINIO.binary), paths);
  progress('stopping PostgreSQL');
  const install = await locatePostgres();
  const postgres = (await stopPostgres(install, paths)) ? 'stopped' : 'not running';
  const stopped: Record<PartName, NonNullable<PartStatus['stopped']>> = { postgres, temporal, minio };
  const parts = await describeParts(paths, state);
  return {
    root: paths.root,
    envFile: paths.envFile,
    env: {},
    parts: parts.map((part) => ({ ...part, stopped: stopped[part.part] })),
    timings: {},
  };
}

/** `sluice cluster status`: what runs, with pids, addresses, versions and logs. Starts nothing. */
export async function clusterStatus(options: ClusterOptions): Promise<ClusterReport & { exists: boolean }> {
  const paths = clusterPaths(options.home);
  const state = await readState(paths);
  if (!state)
    return { exists: false, root: paths.root, envFile: paths.envFile, env: {}, parts: [], timings: {} };
  const credentials = await ensureCredentialsIfPresent(paths);
  return {
    exists: true,
    root: paths.root,
    envFile: paths.envFile,
    env: credentials ? clusterEnv(state, credentials) : {},
    parts: await describeParts(paths, state),
    timings: {},
  };
}

async function ensureCredentialsIfPresent(paths: ClusterPaths) {
  const text = await readFile(paths.credentialsFile, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : ensureCredentials(paths);
}

async function requireState(paths: ClusterPaths): Promise<ClusterState> {
  const state = await readState(paths);
  if (!state) {
    throw new ConfigurationError(
      `no cluster in ${paths.root}: start one with \`sluice cluster up\` (or set SLUICE_HOME)`,
    );
  }
  return state;
}

async function anyRunning(paths: ClusterPaths, state: ClusterState): Promise<boolean> {
  return (await describeParts(paths, state)).some((part) => part.running);
}

async function describeParts(
  paths: ClusterPaths,
  state: ClusterState,
  known?: { postgres: PostgresInstall },
): Promise<PartStatus[]> {
  const bin = paths.binDir;
  const version = async (component: GoComponent) =>
    (await readRecord(join(bin, component.binary)))?.version ?? 'not built';
  const install = known?.postgres ?? (await locatePostgres().catch(() => undefined));
  const pg = install ? await postgresProcess(install, paths) : undefined;
  const serverPid = await runningPid(paths.temporal.pidFile, join(bin, TEMPORAL_SERVER.binary));
  const temporalAddress = `127.0.0.1:${state.ports.frontend}`;
  const serverAnswers =
    serverPid !== undefined && (await probeTemporal(temporalAddress, 2_000)).kind === 'temporal';
  const minioPid = await runningPid(paths.minio.pidFile, join(bin, MINIO.binary));
  const minioAnswers = minioPid !== undefined && (await minioLive(state.ports.minio));
  return [
    {
      part: 'postgres',
      running: pg !== undefined,
      ...(pg ? { pid: pg.pid } : {}),
      address: `127.0.0.1:${state.ports.postgres}`,
      version: install ? `PostgreSQL ${install.version}` : 'not installed',
      log: paths.postgres.log,
    },
    {
      part: 'temporal',
      running: serverAnswers,
      ...(serverPid !== undefined ? { pid: serverPid } : {}),
      address: temporalAddress,
      version: `Temporal server ${await version(TEMPORAL_SERVER)}`,
      log: paths.temporal.log,
    },
    {
      part: 'minio',
      running: minioAnswers,
      ...(minioPid !== undefined ? { pid: minioPid } : {}),
      address: `127.0.0.1:${state.ports.minio}`,
      version: `MinIO ${await version(MINIO)}`,
      log: paths.minio.log,
    },
  ];
}

function round(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}
