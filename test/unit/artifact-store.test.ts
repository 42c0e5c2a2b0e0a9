import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArtifactIntegrityError,
  artifactsRoot,
  createArtifactStore,
  type ArtifactStorage,
} from '../../lib/artifacts/index.js';
import type { ArtifactRef } from '../../pipelines/artifact.js';
import { InvalidInputError } from '../../pipelines/errors.js';

let home: string;
let store: ArtifactStorage;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-store-'));
  store = createArtifactStore(home);
});

afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

/** Every file under the store, relative to it (staging included), sorted. */
async function storeFiles(): Promise<string[]> {
  const root = artifactsRoot(home);
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

const sha = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const producer = { workflowId: 'wf-1', runId: 'run-1', step: 'ingest' };

describe('the local artifact store', () => {
  it('stores bytes under their sha256 with a sidecar naming the producing run and step', async () => {
    const ref = await store.putJson({ hello: 'world' }, { kind: 'statistics', producer });
    const text = `${JSON.stringify({ hello: 'world' }, null, 2)}\n`;
    expect(ref).toMatchObject({ sha256: sha(text), kind: 'statistics', format: 'json', bytes: text.length });
    expect(ref.uri).toBe(`sluice://sha256/${ref.sha256}`);
    const path = await store.open(ref);
    expect(relative(artifactsRoot(home), path)).toBe(join(ref.sha256.slice(0, 2), `${ref.sha256}.json`));
    expect(await readFile(path, 'utf8')).toBe(text);
    expect(await store.readJson(ref)).toEqual({ hello: 'world' });

    const sidecar = await store.describe(ref);
    expect(sidecar).toMatchObject({ sha256: ref.sha256, kind: 'statistics', format: 'json', producer });
    expect(Date.parse(sidecar.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(await storeFiles()).toEqual([
      join(ref.sha256.slice(0, 2), `${ref.sha256}.json`),
      join(ref.sha256.slice(0, 2), `${ref.sha256}.meta.json`),
    ]);
  });

  it('addresses by content: the same data twice is one file and one ref, first producer kept', async () => {
    const first = await store.putBytes(Buffer.from('a,b\n1,2\n'), { kind: 'report', format: 'md', producer });
    const again = await store.putBytes(Buffer.from('a,b\n1,2\n'), {
      kind: 'report',
      format: 'md',
      producer: { ...producer, runId: 'run-2' },
    });
    expect(again).toEqual(first);
    expect(await storeFiles()).toHaveLength(2); // the bytes and their sidecar, nothing staged
    expect((await store.describe(first)).producer).toEqual(producer);
    expect(await store.has(first)).toBe(true);
    expect(await store.has(first.sha256)).toBe(true);
  });

  it('moves a finished file in from anywhere and consumes it', async () => {
    const outside = join(home, 'made-by-duckdb.parquet');
    await writeFile(outside, 'PAR1 pretend parquet PAR1');
    const ref = await store.putFile(outside, { kind: 'dataset', format: 'parquet', rows: 3 });
    expect(ref).toMatchObject({ sha256: sha('PAR1 pretend parquet PAR1'), rows: 3 });
    await expect(stat(outside)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(await store.open(ref), 'utf8')).toBe('PAR1 pretend parquet PAR1');
    expect((await store.describe(ref)).producer).toBeNull();
  });

  it('leaves nothing behind when a writer fails half-way through a staged file', async () => {
    const failure = store.withStagingFile('parquet', async (path) => {
      await writeFile(path, Buffer.alloc(64 * 1024, 1)); // half an artifact on disk…
      throw new Error('disk went away'); // …then the writer dies
    });
    await expect(failure).rejects.toThrow('disk went away');
    expect(await storeFiles()).toEqual([]);
  });

  it('leaves nothing behind when a stream fails mid-write', async () => {
    async function* chunks() {
      yield Buffer.alloc(1024, 7);
      await Promise.resolve();
      throw new Error('producer crashed');
    }
    await expect(store.putStream(chunks(), { kind: 'checkpoint', format: 'tar' })).rejects.toThrow(
      'producer crashed',
    );
    expect(await storeFiles()).toEqual([]);
  });

  it('keeps a file put from inside withStagingFile and cleans nothing it should keep', async () => {
    const ref = await store.withStagingFile('parquet', async (path) => {
      await writeFile(path, 'PAR1 staged PAR1');
      return store.putFile(path, { kind: 'dataset', format: 'parquet', rows: 1, producer });
    });
    await store.verify(ref);
    expect(await storeFiles()).toHaveLength(2);
  });

  describe('refuses to read an artifact whose bytes changed', () => {
    let ref: ArtifactRef;
    let path: string;
    beforeEach(async () => {
      ref = await store.putJson({ rows: [1, 2, 3] }, { kind: 'statistics', producer });
      path = await store.open(ref);
    });

    it('a flipped byte', async () => {
      const bytes = await readFile(path);
      bytes[5] = bytes[5]! ^ 0xff;
      await writeFile(path, bytes);
      const refused = await store.open(ref).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ArtifactIntegrityError);
      expect((refused as Error).message).toContain(ref.sha256);
      expect((refused as Error).message).toMatch(/tampered with or corrupted/);
      expect((refused as Error).message).toContain('re-run step "ingest" of run wf-1');
      await expect(store.readJson(ref)).rejects.toBeInstanceOf(ArtifactIntegrityError);
      await expect(store.readBytes(ref)).rejects.toBeInstanceOf(ArtifactIntegrityError);
    });

    it('a truncated file', async () => {
      await truncate(path, 4);
      await expect(store.verify(ref)).rejects.toThrow(/has 4 bytes, not the \d+ it was stored with/);
    });

    it('a deleted file', async () => {
      await rm(path);
      await expect(store.open(ref)).rejects.toThrow(/is missing from the store/);
      expect(await store.has(ref)).toBe(false);
    });

    it('and storing the same bytes again heals it', async () => {
      await writeFile(path, 'garbage');
      const healed = await store.putJson({ rows: [1, 2, 3] }, { kind: 'statistics' });
      expect(healed).toEqual(ref);
      await store.verify(ref);
    });
  });

  it('resolves refs of older histories, whose uri was a file:// path on the worker that wrote them', async () => {
    const ref = await store.putJson({ old: true }, { kind: 'statistics', producer });
    const old: ArtifactRef = {
      ...ref,
      uri: `file:///srv/another-machine/.sluice/artifacts/${ref.sha256.slice(0, 2)}/${ref.sha256}.json`,
    };
    expect(await store.open(old)).toBe(await store.open(ref));
    expect(await store.readJson(old)).toEqual({ old: true });
    expect(await store.has(old)).toBe(true);
  });

  it('refuses refs whose sha256 could escape the store', async () => {
    const evil = { uri: 'file:///etc/passwd', sha256: '../../etc/passwd', kind: 'dataset', format: 'json' };
    await expect(store.open({ ...evil, bytes: 1 } as ArtifactRef)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(store.describe('0'.repeat(64))).rejects.toThrow(/no artifact 0{64} in the store/);
    expect(await store.has('0'.repeat(64))).toBe(false);
  });
});
