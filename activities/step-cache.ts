import type { ArtifactLocation } from '../lib/artifacts/location.js';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JsonValue } from '../pipelines/json.js';
import { createArtifactStore } from '../lib/artifacts/index.js';
import { writeFileAtomic } from '../lib/fs-atomic.js';

export interface CacheEntry {
  key: string;
  pipeline: string;
  step: string;
  workflowId: string;
  output: JsonValue;
}

/** The cache activities the DAG workflow calls around a cacheable step (docs/architecture.md decision 3). */
export interface StepCacheActivities {
  lookupStepCache(key: string): Promise<CacheLookup>;
  /** Every key of a ready set of steps in one local activity (runs from this version on). */
  lookupStepCaches(keys: string[]): Promise<Record<string, CacheLookup>>;
  storeStepCache(entry: CacheEntry): Promise<void>;
}

export type CacheLookup = { hit: true; output: JsonValue; from: string } | { hit: false; why: string };

/**
 * A step cache under `<SLUICE_HOME>/cache/`: one small JSON file per key (the key is a hash of the
 * step's resolved spec, its inputs — artifact hashes included — and the code version, computed in
 * workflow code). A hit is only a hit when every artifact its output refers to is still in the store.
 */
export function createStepCacheActivities(home: string, artifacts?: ArtifactLocation): StepCacheActivities {
  const dir = join(home, 'cache');
  const store = createArtifactStore(home, artifacts);
  const pathOf = (key: string) => join(dir, `${key}.json`);
  const lookup = async (key: string): Promise<CacheLookup> => {
    let entry: CacheEntry;
    try {
      entry = JSON.parse(await readFile(pathOf(key), 'utf8')) as CacheEntry;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { hit: false, why: 'no entry' };
      return { hit: false, why: `unreadable entry (${(error as Error).message})` };
    }
    for (const sha of artifactHashes(entry.output)) {
      if (!(await store.has(sha))) return { hit: false, why: `artifact ${sha.slice(0, 12)} is gone` };
    }
    return { hit: true, output: entry.output, from: entry.workflowId };
  };
  return {
    lookupStepCache: lookup,
    async lookupStepCaches(keys) {
      return Object.fromEntries(
        await Promise.all(keys.map(async (key) => [key, await lookup(key)] as const)),
      );
    },
    async storeStepCache(entry) {
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(pathOf(entry.key), `${JSON.stringify(entry)}\n`);
    },
  };
}

/** sha256s of every ArtifactRef-shaped object (`{ uri, sha256 }`) inside a step output. */
function artifactHashes(value: JsonValue): string[] {
  if (Array.isArray(value)) return value.flatMap(artifactHashes);
  if (value === null || typeof value !== 'object') return [];
  const own =
    typeof value['sha256'] === 'string' &&
    typeof value['uri'] === 'string' &&
    /^[0-9a-f]{64}$/.test(value['sha256'])
      ? [value['sha256']]
      : [];
  return [...own, ...Object.values(value).flatMap(artifactHashes)];
}
