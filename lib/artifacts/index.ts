import { join } from 'node:path';
import { LocalArtifactStorage } from './local-storage.js';
import type { ArtifactStorage } from './storage.js';

export { ArtifactIntegrityError } from './integrity-error.js';
export { LocalArtifactStorage } from './local-storage.js';
export { StoreLayout } from './layout.js';
export type { ArtifactMeta, ArtifactStorage } from './storage.js';

/**
 * The artifact store for a Sluice home: `<home>/artifacts/`. Activities and the CLI take an
 * {@link ArtifactStorage} from here rather than constructing paths, so a cluster deployment can swap in
 * an object store behind the same interface.
 */
export function createArtifactStore(home: string): ArtifactStorage {
  return new LocalArtifactStorage(artifactsRoot(home));
}

/** Where the local store lives for a Sluice home. */
export function artifactsRoot(home: string): string {
  return join(home, 'artifacts');
}
