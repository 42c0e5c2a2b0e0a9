import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { artifactsRoot, createArtifactStore, type ArtifactStorage } from '../../lib/artifacts/index.js';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import type { IngestDeps } from '../../activities/ingest/index.js';
import type { ArtifactRef } from '../../pipelines/artifact.js';
import { projectRoot } from '../support/paths.js';

/** A throwaway SLUICE_HOME and data directory for one test file. */
export interface Workspace {
  home: string;
  data: string;
  store: ArtifactStorage;
  /** Ingest deps: the data directory and the project (for vega-datasets) are the allowed roots. */
  deps: IngestDeps;
  /** Write a file into the data directory; returns its absolute path. */
  write(name: string, content: string | Uint8Array): Promise<string>;
  /** Every file under the artifact store (staging included), relative to it. */
  storeFiles(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export async function workspace(piiKey?: string): Promise<Workspace> {
  const home = await mkdtemp(join(tmpdir(), 'sluice-ingest-home-'));
  const data = await mkdtemp(join(tmpdir(), 'sluice-ingest-data-'));
  const store = createArtifactStore(home);
  return {
    home,
    data,
    store,
    deps: { store, dataRoots: [data, projectRoot], ...(piiKey === undefined ? {} : { piiKey }) },
    async write(name, content) {
      const path = join(data, name);
      await writeFile(path, content);
      return path;
    },
    async storeFiles() {
      const root = artifactsRoot(home);
      const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
      return entries
        .filter((entry) => entry.isFile())
        .map((entry) => relative(root, join(entry.parentPath, entry.name)))
        .sort();
    },
    async cleanup() {
      await rm(home, { recursive: true, force: true });
      await rm(data, { recursive: true, force: true });
    },
  };
}

/** Run a query over a stored snapshot (verified first), as plain JS rows: small results only. */
export async function querySnapshot(
  store: ArtifactStorage,
  ref: ArtifactRef,
  select: (relation: string) => string,
): Promise<Record<string, unknown>[]> {
  const path = await store.open(ref);
  return withDuckDB(async (db) => {
    const result = await db.runAndReadAll(select(`read_parquet(${sqlString(path)})`));
    return result.getRowObjectsJS();
  });
}
