import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { clusterPaths, planPorts, type ClusterCredentials } from '../../infra/cluster/layout.js';
import { ensureCredentials, startMinio, stopMinio } from '../../infra/cluster/minio.js';
import { clusterHome, freePortBlock } from './support.js';

/** MinIO alone, started by the cluster's own code on free loopback ports, with its data in a temp home. */
export interface TestMinio {
  home: string;
  endpoint: string;
  bucket: string;
  credentials: ClusterCredentials;
  /** The variables a worker on another machine would be given to use this store. */
  env(prefix?: string): Record<string, string>;
  /** A plain S3 client on it, for looking behind the store's back (listing, corrupting objects). */
  client(): S3Client;
  /** Stop MinIO (SIGTERM) and remove its data. */
  stop(): Promise<void>;
}

/**
 * Start MinIO from `<project>/.sluice/bin/minio` (built by `npx sluice setup --cluster`) through
 * `infra/cluster/minio.ts`, as `sluice cluster up` does, without PostgreSQL or the Temporal server:
 * the store tests need only the S3 service.
 */
export async function startTestMinio(bucket = 'sluice'): Promise<TestMinio> {
  const home = await clusterHome();
  const paths = clusterPaths(home);
  const base = await freePortBlock(2);
  // Only MinIO starts: the other parts' ports are planned out of the way and never opened.
  const ports = planPorts({
    minio: base,
    temporal: base >= 22_000 ? base - 2000 : base + 2000,
    postgres: base + 5,
  });
  const credentials = await ensureCredentials(paths);
  const binary = join(paths.binDir, 'minio');
  await startMinio({ binary, paths, ports, credentials, bucket });
  const endpoint = `http://127.0.0.1:${ports.minio}`;
  const clients: S3Client[] = [];
  return {
    home,
    endpoint,
    bucket,
    credentials,
    env: (prefix = 'artifacts') => ({
      SLUICE_ARTIFACTS: `s3://${bucket}/${prefix}`,
      SLUICE_S3_ENDPOINT: endpoint,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
    }),
    client() {
      const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.destroy();
      await stopMinio(binary, paths);
      await rm(home, { recursive: true, force: true });
    },
  };
}
