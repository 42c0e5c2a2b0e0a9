import { join } from 'node:path';
import { z } from 'zod';
import { ConfigurationError } from '../../pipelines/errors.js';

/**
 * Where the local cluster keeps everything, all under `<SLUICE_HOME>/cluster/` (binaries are shared
 * with the rest of Sluice in `<SLUICE_HOME>/bin`).
 */
export interface ClusterPaths {
  root: string;
  binDir: string;
  /** What `up` chose (ports, bucket), so `status`, `down` and a second `up` agree. */
  stateFile: string;
  /** `export …` lines for `source`; holds the MinIO secret, so mode 0600. */
  envFile: string;
  /** MinIO's root credentials, generated once; mode 0600. */
  credentialsFile: string;
  logDir: string;
  postgres: { dir: string; data: string; socketDir: string; log: string };
  temporal: {
    dir: string;
    configDir: string;
    configFile: string;
    dynamicConfigFile: string;
    pidFile: string;
    log: string;
    schemaLog: string;
  };
  minio: { dir: string; data: string; pidFile: string; log: string };
}

export function clusterPaths(home: string): ClusterPaths {
  const root = join(home, 'cluster');
  const logDir = join(root, 'logs');
  const temporalDir = join(root, 'temporal');
  const configDir = join(temporalDir, 'config');
  return {
    root,
    binDir: join(home, 'bin'),
    stateFile: join(root, 'cluster.json'),
    envFile: join(root, 'env'),
    credentialsFile: join(root, 'credentials.json'),
    logDir,
    postgres: {
      dir: join(root, 'postgres'),
      data: join(root, 'postgres', 'data'),
      socketDir: join(root, 'postgres', 'run'),
      log: join(logDir, 'postgres.log'),
    },
    temporal: {
      dir: temporalDir,
      configDir,
      // The server reads `<--root>/<--config>/<--env>.yaml`.
      configFile: join(configDir, 'sluice.yaml'),
      dynamicConfigFile: join(configDir, 'dynamicconfig.yaml'),
      pidFile: join(temporalDir, 'server.pid'),
      log: join(logDir, 'temporal.log'),
      schemaLog: join(logDir, 'schema.log'),
    },
    minio: {
      dir: join(root, 'minio'),
      data: join(root, 'minio', 'data'),
      pidFile: join(root, 'minio', 'minio.pid'),
      log: join(logDir, 'minio.log'),
    },
  };
}

/**
 * Every port the cluster listens on, all on 127.0.0.1. The Temporal server's services sit in one block
 * of ten after the frontend, so one number moves them all.
 */
export interface ClusterPorts {
  postgres: number;
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  frontendMembership: number;
  historyMembership: number;
  matchingMembership: number;
  workerMembership: number;
  metrics: number;
  minio: number;
  minioConsole: number;
}

/** Defaults clear of the dev server (7233 gRPC, 8233 UI) and of a system PostgreSQL (5432). */
export const defaultPortChoice = { postgres: 15432, temporal: 17233, minio: 19000 } as const;

export interface PortChoice {
  postgres?: number | undefined;
  /** The Temporal frontend (gRPC); the server's other ports are the nine after it. */
  temporal?: number | undefined;
  /** The MinIO S3 API; its console is the next port. */
  minio?: number | undefined;
}

const portNumber = z.number().int().min(1024).max(65535);

/** The Temporal server stores membership ports in a `smallint` column (cluster_membership.rpc_port). */
export const maxTemporalPort = 32767;

/**
 * Lay out every port from the three a person chooses (or the defaults).
 *
 * @throws ConfigurationError when a port is out of range or two ranges overlap.
 */
export function planPorts(choice: PortChoice = {}): ClusterPorts {
  const postgres = choice.postgres ?? defaultPortChoice.postgres;
  const temporal = choice.temporal ?? defaultPortChoice.temporal;
  const minio = choice.minio ?? defaultPortChoice.minio;
  const ranges: [string, number, number][] = [
    ['--postgres-port', postgres, postgres],
    ['--temporal-port', temporal, temporal + 9],
    ['--minio-port', minio, minio + 1],
  ];
  for (const [flag, low, high] of ranges) {
    if (!portNumber.safeParse(low).success || !portNumber.safeParse(high).success) {
      throw new ConfigurationError(
        `${flag} ${low} is out of range: the cluster needs ports ${low}-${high} between 1024 and 65535`,
      );
    }
  }
  if (temporal + 9 > maxTemporalPort) {
    throw new ConfigurationError(
      `--temporal-port ${temporal} is too high: the Temporal server records its membership ports in a ` +
        `PostgreSQL smallint, so its ports ${temporal}-${temporal + 9} must end at ${maxTemporalPort} or below`,
    );
  }
  for (const [i, [flagA, lowA, highA]] of ranges.entries()) {
    for (const [flagB, lowB, highB] of ranges.slice(i + 1)) {
      if (lowA <= highB && lowB <= highA) {
        const span = (flag: string, low: number, high: number) =>
          high > low ? `${flag} ${low} (ports ${low}-${high})` : `${flag} ${low}`;
        throw new ConfigurationError(
          `${span(flagA, lowA, highA)} overlaps ${span(flagB, lowB, highB)}: choose ports apart`,
        );
      }
    }
  }
  return {
    postgres,
    frontend: temporal,
    frontendHttp: temporal + 1,
    history: temporal + 2,
    matching: temporal + 3,
    worker: temporal + 4,
    frontendMembership: temporal + 5,
    historyMembership: temporal + 6,
    matchingMembership: temporal + 7,
    workerMembership: temporal + 8,
    metrics: temporal + 9,
    minio,
    minioConsole: minio + 1,
  };
}

/** Which ports belong to which part, for "port N (…) is taken" and for `status`. */
export function portOwners(
  ports: ClusterPorts,
): { port: number; part: 'postgres' | 'temporal' | 'minio'; name: string }[] {
  return [
    { port: ports.postgres, part: 'postgres', name: 'PostgreSQL' },
    ...(
      [
        'frontend',
        'frontendHttp',
        'history',
        'matching',
        'worker',
        'frontendMembership',
        'historyMembership',
        'matchingMembership',
        'workerMembership',
        'metrics',
      ] as const
    ).map((key) => ({ port: ports[key], part: 'temporal' as const, name: `Temporal ${key}` })),
    { port: ports.minio, part: 'minio', name: 'MinIO S3 API' },
    { port: ports.minioConsole, part: 'minio', name: 'MinIO console' },
  ];
}

const portsSchema = z.object({
  postgres: portNumber,
  frontend: portNumber,
  frontendHttp: portNumber,
  history: portNumber,
  matching: portNumber,
  worker: portNumber,
  frontendMembership: portNumber,
  historyMembership: portNumber,
  matchingMembership: portNumber,
  workerMembership: portNumber,
  metrics: portNumber,
  minio: portNumber,
  minioConsole: portNumber,
});

/** `cluster.json`: written by the first `up`, read by every later command. */
export const clusterStateSchema = z.object({
  version: z.literal(1),
  ports: portsSchema,
  bucket: z.string().min(3),
  prefix: z.string(),
  namespace: z.string().min(1),
  createdAt: z.string(),
});
export type ClusterState = z.infer<typeof clusterStateSchema>;

export const credentialsSchema = z.object({
  accessKeyId: z.string().min(3),
  secretAccessKey: z.string().min(8),
});
export type ClusterCredentials = z.infer<typeof credentialsSchema>;

/** The bucket and prefix `SLUICE_ARTIFACTS` names on the local cluster. */
export const defaultBucket = { bucket: 'sluice', prefix: 'artifacts' } as const;
