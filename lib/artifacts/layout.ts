import { join } from 'node:path';
import type { ArtifactFormat } from '../../pipelines/artifact.js';
import { InvalidInputError } from '../../pipelines/errors.js';

const shaPattern = /^[0-9a-f]{64}$/;

/** File extension per artifact format: the store's file names say what they hold. */
const extensions: Record<ArtifactFormat, string> = {
  parquet: 'parquet',
  json: 'json',
  html: 'html',
  md: 'md',
  svg: 'svg',
  tfjs: 'tfjs',
  tar: 'tar',
};

/**
 * Where the local store keeps things, in one place: `<root>/<sha[0:2]>/<sha>.<ext>` for the bytes (256
 * shards keep directories small), `<sha>.meta.json` beside them for the sidecar (not `<sha>.json`, which
 * would collide with a JSON artifact's own bytes), and `<root>/.staging/` for files being written, on the
 * same filesystem so the final rename is atomic.
 */
export class StoreLayout {
  constructor(readonly root: string) {}

  get staging(): string {
    return join(this.root, '.staging');
  }

  shard(sha256: string): string {
    return join(this.root, checkedSha(sha256).slice(0, 2));
  }

  data(sha256: string, format: ArtifactFormat): string {
    return join(this.shard(sha256), `${sha256}.${extensionOf(format)}`);
  }

  sidecar(sha256: string): string {
    return join(this.shard(sha256), `${sha256}.meta.json`);
  }
}

/** The extension for `format`, refusing formats the store does not know (refs arrive as JSON). */
export function extensionOf(format: ArtifactFormat): string {
  const ext = (extensions as Partial<Record<string, string>>)[format];
  if (!ext) {
    throw new InvalidInputError(
      `artifact format "${String(format)}" is unknown: use one of ${Object.keys(extensions).join(', ')}`,
    );
  }
  return ext;
}

/**
 * A sha256 as the store accepts it: 64 lowercase hex digits. Refs arrive from workflow payloads and
 * users, and the sha becomes a path, so anything else (`../`, uppercase, short) is refused.
 */
export function checkedSha(sha256: string): string {
  if (!shaPattern.test(sha256)) {
    throw new InvalidInputError(
      `"${sha256}" is not an artifact sha256 (64 lowercase hex digits): pass the sha256 of an ArtifactRef`,
    );
  }
  return sha256;
}

/** The scheme of store-neutral artifact addresses. */
const addressPrefix = 'sluice://sha256/';

/**
 * The store-neutral address of an artifact, `sluice://sha256/<hash>`: what refs carry in histories,
 * the registry and audit reports, so they name the bytes and not a disk or bucket of one machine.
 * Resolve it through the store ({@link ArtifactStorage.open}).
 */
export function artifactAddress(sha256: string): string {
  return `${addressPrefix}${checkedSha(sha256)}`;
}

/** The sha256 an address names, or undefined when `uri` is not a `sluice://sha256/` address. */
export function shaOfAddress(uri: string): string | undefined {
  if (!uri.startsWith(addressPrefix)) return undefined;
  const sha = uri.slice(addressPrefix.length);
  return /^[0-9a-f]{64}$/.test(sha) ? sha : undefined;
}
