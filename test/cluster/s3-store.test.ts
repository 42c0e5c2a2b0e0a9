// The artifact store on a real S3 service: MinIO built into .sluice/bin and started by the cluster's
// own code. Each "machine" is a SLUICE_HOME of its own; they share nothing but the bucket.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactIntegrityError, createArtifactStore, S3ArtifactStorage } from '../../lib/artifacts/index.js';
import type { ArtifactLocation } from '../../lib/artifacts/location.js';
import { loadConfig } from '../../lib/config.js';
import { ConfigurationError, DependencyUnavailableError } from '../../pipelines/errors.js';
import { sluice } from '../support/cli.js';
import { dataDir, freePort } from '../support/paths.js';
import { startTestMinio, type TestMinio } from './minio.js';

let minio: TestMinio;
const homes: string[] = [];
const MiB = 1024 * 1024;
const producer = { workflowId: 'wf-s3', runId: 'run-1', step: 'ingest' };
const sha = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  minio = await startTestMinio();
});

afterAll(async () => {
  await minio?.stop();
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

/** A fresh machine: its own SLUICE_HOME, the shared store's variables (plus `extra`). */
async function machine(extra: Record<string, string> = {}) {
  const home = await mkdtemp(join(tmpdir(), 'sluice-s3-machine-'));
  homes.push(home);
  const config = loadConfig({ SLUICE_HOME: home, ...minio.env(), ...extra }, home);
  return { home, config, store: createArtifactStore(config.home, config.artifacts) };
}

async function keys(prefix: string): Promise<string[]> {
  const listed = await minio
    .client()
    .send(new ListObjectsV2Command({ Bucket: minio.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof Error)) throw new Error('expected a failure, got success');
  return error;
}

describe('the S3 artifact store on MinIO', () => {
  it('stores on one machine and reads verified bytes on another with its own home', async () => {
    const a = await machine();
    const ref = await a.store.putJson({ hello: 'cluster' }, { kind: 'statistics', producer });
    expect(ref.uri).toBe(`sluice://sha256/${ref.sha256}`);
    expect(await keys(`artifacts/${ref.sha256.slice(0, 2)}/${ref.sha256}`)).toEqual([
      `artifacts/${ref.sha256.slice(0, 2)}/${ref.sha256}.json`,
      `artifacts/${ref.sha256.slice(0, 2)}/${ref.sha256}.meta.json`,
    ]);

    const b = await machine();
    expect(await b.store.has(ref)).toBe(true);
    expect(await b.store.readJson(ref)).toEqual({ hello: 'cluster' });
    const path = await b.store.open(ref);
    expect(path.startsWith(join(b.home, 'artifact-cache'))).toBe(true);
    await b.store.verify(ref);
    expect(await b.store.describe(ref)).toMatchObject({ sha256: ref.sha256, kind: 'statistics', producer });
    // Storing the same bytes again from the other machine is the same ref; the first producer stays.
    const again = await b.store.putJson({ hello: 'cluster' }, { kind: 'statistics' });
    expect(again).toEqual(ref);
    expect((await b.store.describe(ref)).producer).toEqual(producer);
  });

  it('answers a second read from the local cache without the store, and refetches by hash when the cache is wiped', async () => {
    const a = await machine();
    const ref = await a.store.putBytes(Buffer.from('cached bytes\n'), { kind: 'report', format: 'md' });
    const b = await machine();
    const first = await b.store.open(ref);
    // The same machine with the store unreachable: the cached, verified copy still serves.
    const down = await freePort();
    const offline = loadConfig(
      { SLUICE_HOME: b.home, ...minio.env(), SLUICE_S3_ENDPOINT: `http://127.0.0.1:${down}` },
      b.home,
    );
    const cachedOnly = createArtifactStore(offline.home, offline.artifacts);
    expect(await cachedOnly.open(ref)).toBe(first);
    expect((await cachedOnly.readBytes(ref)).toString()).toBe('cached bytes\n');
    // A wiped cache (or a damaged copy) is fetched again from the store by its sha256.
    await writeFile(first, 'damaged');
    expect((await b.store.readBytes(ref)).toString()).toBe('cached bytes\n');
    await rm(join(b.home, 'artifact-cache'), { recursive: true, force: true });
    expect((await b.store.readBytes(ref)).toString()).toBe('cached bytes\n');
  });

  it('uploads large files in parts, and an upload cut off part-way leaves nothing under the key', async () => {
    const a = await machine();
    const location = a.config.artifacts as Extract<ArtifactLocation, { kind: 's3' }>;
    const big = randomBytes(12 * MiB);
    const file = join(a.home, 'big.tar');
    await writeFile(file, big);
    const options = { multipartThreshold: 5 * MiB, partSize: 5 * MiB };
    const store = createArtifactStore(a.home, location, options);
    const ref = await store.putFile(file, { kind: 'model', format: 'tar', producer });
    expect(ref).toMatchObject({ sha256: sha(big), bytes: 12 * MiB });
    const head = await minio.client().send(
      new HeadObjectCommand({
        Bucket: minio.bucket,
        Key: `artifacts/${ref.sha256.slice(0, 2)}/${ref.sha256}.tar`,
      }),
    );
    expect(head.ContentLength).toBe(12 * MiB);
    expect(head.ETag).toMatch(/-3"$/); // S3's mark of an object completed from three parts
    const b = await machine();
    expect(sha(await b.store.readBytes(ref))).toBe(ref.sha256);

    // Now the network dies after the first part of another large file.
    const other = randomBytes(11 * MiB);
    const otherFile = join(a.home, 'other.tar');
    await writeFile(otherFile, other);
    const flaky = new S3Client({
      endpoint: minio.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: minio.credentials,
      maxAttempts: 1,
    });
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { PartNumber?: number };
        if (context.commandName === 'UploadPartCommand' && input.PartNumber === 2) {
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'cutTheCable' },
    );
    const cut = new S3ArtifactStorage({ ...location, cacheRoot: join(a.home, 'cut-cache') }, flaky, options);
    const error = await failure(cut.putFile(otherFile, { kind: 'model', format: 'tar', producer }));
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error.message).toMatch(/unreachable while uploading artifacts\/.+\.tar \(ECONNRESET\)/);
    const key = `artifacts/${sha(other).slice(0, 2)}/${sha(other)}`;
    expect(await keys(key)).toEqual([]);
    const uploads = await minio
      .client()
      .send(new ListMultipartUploadsCommand({ Bucket: minio.bucket, Prefix: key }));
    expect(uploads.Uploads ?? []).toEqual([]); // aborted, not left to linger
    flaky.destroy();
  });

  it('refuses an object whose bytes no longer match its hash, naming the key and the hash, and does not cache it', async () => {
    const a = await machine();
    const ref = await a.store.putJson({ weights: [1, 2, 3] }, { kind: 'model', producer });
    const key = `artifacts/${ref.sha256.slice(0, 2)}/${ref.sha256}.json`;
    await minio
      .client()
      .send(new PutObjectCommand({ Bucket: minio.bucket, Key: key, Body: '{"weights":[6,6,6]}\n' }));
    const b = await machine();
    const error = await failure(b.store.readJson(ref));
    expect(error).toBeInstanceOf(ArtifactIntegrityError);
    expect(error.message).toContain(key);
    expect(error.message).toContain(ref.sha256);
    expect(error.message).toMatch(/tampered with or corrupted after it was stored, so it is refused/);
    const cached = await readdir(join(b.home, 'artifact-cache'), { recursive: true }).catch(() => []);
    expect(cached.filter((name) => name.includes(ref.sha256))).toEqual([]);
    // Storing the good bytes again heals the object for every machine.
    await a.store.putJson({ weights: [1, 2, 3] }, { kind: 'model' });
    await expect(b.store.readJson(ref)).resolves.toEqual({ weights: [1, 2, 3] });
  });

  it('names the bucket and SLUICE_ARTIFACTS when the bucket does not exist', async () => {
    const { store } = await machine({ SLUICE_ARTIFACTS: 's3://no-such-bucket/x' });
    const error = await failure(store.putJson({ a: 1 }, { kind: 'report' }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(
      `bucket "no-such-bucket" does not exist at ${minio.endpoint}: create it (\`aws s3 mb s3://no-such-bucket\`, or \`sluice cluster up\` for the local MinIO) or fix SLUICE_ARTIFACTS`,
    );
  });

  it('says in one line that the credentials were refused, without the secret', async () => {
    const { store } = await machine({ AWS_SECRET_ACCESS_KEY: 'wrong-secret-value' });
    const error = await failure(store.putJson({ a: 1 }, { kind: 'report' }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatch(
      /^the S3 store s3:\/\/sluice\/artifacts at http:\/\/127\.0\.0\.1:\d+ refused the credentials while checking .+ \(HTTP 403 Forbidden\): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY$/,
    );
    expect(error.message).not.toContain('wrong-secret-value');
  });

  it('names the endpoint of an unreachable store, as a failure to retry', async () => {
    const port = await freePort();
    // No waiting for the service to come back (default 120 s): the error itself is what is tested.
    const { store } = await machine({
      SLUICE_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      SLUICE_S3_WAIT_MS: '0',
    });
    const error = await failure(store.putJson({ a: 1 }, { kind: 'report' }));
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error.message).toMatch(
      new RegExp(
        `^the S3 store at http://127\\.0\\.0\\.1:${port} is unreachable while checking .+ \\(ECONNREFUSED\\): start it or fix SLUICE_S3_ENDPOINT; the step is retried$`,
      ),
    );
  });

  it('sluice ingest stores into the bucket and sluice stats on another home reads it back by sha256', async () => {
    const a = await machine();
    const b = await machine();
    const source = join(dataDir, 'seattle-weather.csv');
    const ingested = await sluice(['ingest', source, '--json'], {
      SLUICE_HOME: a.home,
      SLUICE_DATA_ROOTS: dataDir,
      ...minio.env(),
    });
    expect(ingested.code, ingested.stderr).toBe(0);
    const { dataset } = JSON.parse(ingested.stdout) as { dataset: { sha256: string; uri: string } };
    expect(dataset.uri).toBe(`sluice://sha256/${dataset.sha256}`);
    const stats = await sluice(['stats', dataset.sha256, '--json'], {
      SLUICE_HOME: b.home,
      SLUICE_DATA_ROOTS: dataDir,
      ...minio.env(),
    });
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ statistics: { rows: 1461 } });
    const missing = await sluice(['ingest', source], {
      SLUICE_HOME: a.home,
      SLUICE_DATA_ROOTS: dataDir,
      ...minio.env(),
      SLUICE_ARTIFACTS: 's3://missing-bucket',
    });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('bucket "missing-bucket" does not exist');
    expect(missing.stderr).toContain('fix SLUICE_ARTIFACTS');
  });
});
