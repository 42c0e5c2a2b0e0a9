import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { ConfigurationError, DependencyUnavailableError } from '../../pipelines/errors.js';
import {
  credentialsSchema,
  portOwners,
  type ClusterCredentials,
  type ClusterPaths,
  type ClusterPorts,
} from './layout.js';
import { ensurePortsFree, runningPid, startDaemon, stopDaemon, waitReady } from './processes.js';

/**
 * MinIO's root credentials for this cluster: generated on the first `up` and kept (mode 0600) in
 * `credentials.json`, so every later `up` and every worker's env file agree.
 */
export async function ensureCredentials(paths: ClusterPaths): Promise<ClusterCredentials> {
  const text = await readFile(paths.credentialsFile, 'utf8').catch(() => undefined);
  if (text !== undefined) {
    const parsed = credentialsSchema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      throw new ConfigurationError(
        `${paths.credentialsFile} is not valid (${parsed.error.issues[0]?.message ?? 'unknown'}): remove it and the MinIO data in ${paths.minio.data}, then \`sluice cluster up\``,
      );
    }
    return parsed.data;
  }
  const credentials: ClusterCredentials = {
    accessKeyId: `sluice-${randomBytes(6).toString('hex')}`,
    secretAccessKey: randomBytes(24).toString('base64url'),
  };
  await mkdir(dirname(paths.credentialsFile), { recursive: true });
  await writeFile(paths.credentialsFile, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  await chmod(paths.credentialsFile, 0o600);
  return credentials;
}

async function live(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/minio/health/live`, {
      signal: AbortSignal.timeout(2_000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Start MinIO on 127.0.0.1 (S3 API and console) with data under the cluster directory, wait for its
 * health endpoint, and create the bucket. Idempotent: a MinIO already running from this directory is
 * reused and an existing bucket kept.
 */
export async function startMinio(options: {
  binary: string;
  paths: ClusterPaths;
  ports: ClusterPorts;
  credentials: ClusterCredentials;
  bucket: string;
  readyTimeoutMs?: number;
}): Promise<{ pid: number; started: boolean; seconds: number }> {
  const { binary, paths, ports, credentials } = options;
  const began = Date.now();
  let pid = await runningPid(paths.minio.pidFile, binary);
  const started = pid === undefined;
  if (pid === undefined) {
    await ensurePortsFree(
      portOwners(ports).filter((owner) => owner.part === 'minio'),
      '--minio-port',
    );
    await mkdir(paths.minio.data, { recursive: true });
    pid = await startDaemon({
      binary,
      args: [
        'server',
        paths.minio.data,
        '--address',
        `127.0.0.1:${ports.minio}`,
        '--console-address',
        `127.0.0.1:${ports.minioConsole}`,
      ],
      env: {
        ...process.env,
        MINIO_ROOT_USER: credentials.accessKeyId,
        MINIO_ROOT_PASSWORD: credentials.secretAccessKey,
        MINIO_UPDATE: 'off',
      },
      cwd: paths.minio.dir,
      logFile: paths.minio.log,
      pidFile: paths.minio.pidFile,
    });
  }
  await waitReady({
    what: `MinIO (pid ${pid}, 127.0.0.1:${ports.minio})`,
    pid,
    logFile: paths.minio.log,
    timeoutMs: options.readyTimeoutMs ?? 60_000,
    ready: () => live(ports.minio),
  });
  await ensureBucket(ports.minio, credentials, options.bucket, paths.minio.log);
  return { pid, started, seconds: (Date.now() - began) / 1000 };
}

async function ensureBucket(port: number, credentials: ClusterCredentials, bucket: string, logFile: string) {
  const s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
  });
  try {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404) throw error;
    }
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    throw new DependencyUnavailableError(
      `MinIO on 127.0.0.1:${port} refused bucket "${bucket}" (${(error as Error).name}: ${(error as Error).message}): read ${logFile}`,
      { cause: error },
    );
  } finally {
    s3.destroy();
  }
}

/** Whether MinIO answers its health check on this port. */
export const minioLive = live;

/** SIGTERM MinIO, SIGKILL after 30 s. */
export async function stopMinio(
  binary: string,
  paths: ClusterPaths,
): Promise<'stopped' | 'killed' | 'not running'> {
  const pid = await runningPid(paths.minio.pidFile, binary);
  if (pid === undefined) return 'not running';
  return stopDaemon(pid, paths.minio.pidFile, 30_000);
}
