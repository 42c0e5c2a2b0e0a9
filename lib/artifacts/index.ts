import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { LocalArtifactStorage } from './local-storage.js';
import type { ArtifactLocation } from './location.js';
import { StoreRetryStrategy, warnStoreWait } from './s3-retry.js';
import { S3ArtifactStorage, type S3Location, type S3StorageOptions } from './s3-storage.js';
import type { ArtifactStorage } from './storage.js';

export { ArtifactIntegrityError } from './integrity-error.js';
export { artifactAddress, shaOfAddress, StoreLayout } from './layout.js';
export { LocalArtifactStorage } from './local-storage.js';
export { describeLocation, parseArtifactLocation } from './location.js';
export type { ArtifactLocation } from './location.js';
export { S3ArtifactStorage } from './s3-storage.js';
export type { S3StorageOptions } from './s3-storage.js';
export type { ArtifactMeta, ArtifactStorage } from './storage.js';

/**
 * The artifact store: `location` (`SLUICE_ARTIFACTS`, parsed into `config.artifacts`), or when it is
 * left out the local store `<home>/artifacts/`. Activities and the CLI take an {@link ArtifactStorage}
 * from here rather than constructing paths; refs carry `sluice://sha256/<hash>`, whichever store.
 */
export function createArtifactStore(
  home: string,
  location?: ArtifactLocation,
  options?: S3StorageOptions,
): ArtifactStorage {
  if (location === undefined) return new LocalArtifactStorage(artifactsRoot(home));
  if (location.kind === 'local') return new LocalArtifactStorage(location.root);
  return new S3ArtifactStorage(location, s3ClientFor(location), options);
}

/** Where the local store lives for a Sluice home. */
export function artifactsRoot(home: string): string {
  return join(home, 'artifacts');
}

const clients = new Map<string, S3Client>();

/** One S3 client per endpoint, region and key (clients pool connections; activities share them). */
export function s3ClientFor(location: S3Location): S3Client {
  const secret = createHash('sha256')
    .update(location.credentials?.secretAccessKey ?? '')
    .digest('hex');
  const id = JSON.stringify([
    location.endpoint,
    location.region,
    location.credentials?.accessKeyId,
    secret,
    location.waitMs,
  ]);
  let client = clients.get(id);
  if (!client) {
    client = new S3Client({
      region: location.region,
      ...(location.endpoint === undefined ? {} : { endpoint: location.endpoint, forcePathStyle: true }),
      ...(location.credentials === undefined ? {} : { credentials: location.credentials }),
      // Waits out a restarting or briefly unreachable service instead of failing the step at once.
      retryStrategy: new StoreRetryStrategy(
        location.endpoint ?? `AWS S3 (${location.region})`,
        warnStoreWait,
        location.waitMs,
      ),
    });
    clients.set(id, client);
  }
  return client;
}
