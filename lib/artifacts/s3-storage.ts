import { createHash } from 'node:crypto';
import { open as openFile, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ArtifactFormat, ArtifactRef, ArtifactSidecar } from '../../pipelines/artifact.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { JsonValue } from '../../pipelines/json.js';
import { ArtifactIntegrityError } from './integrity-error.js';
import { checkedSha, extensionOf } from './layout.js';
import { LocalArtifactStorage } from './local-storage.js';
import { describeLocation, type ArtifactLocation } from './location.js';
import { isNotFound, s3Failure } from './s3-errors.js';
import type { ArtifactMeta, ArtifactStorage } from './storage.js';

export type S3Location = Extract<ArtifactLocation, { kind: 's3' }>;

export interface S3StorageOptions {
  /** Files of at least this many bytes go up in parts (default 16 MiB). */
  multipartThreshold?: number;
  /** Part size for multipart uploads, at least 5 MiB (default 8 MiB). */
  partSize?: number;
}

const MiB = 1024 * 1024;

/**
 * The artifact store in an S3 bucket (AWS S3, MinIO, any S3-compatible service), content-addressed as
 * the local one: `<prefix>/<sha[0:2]>/<sha>.<ext>` and `<sha>.meta.json` beside it.
 *
 * Writes hash the bytes locally first and upload under the sha256 key only when complete: one
 * PutObject, or a multipart upload that S3 makes visible only at CompleteMultipartUpload and that is
 * aborted on any failure, so no reader ever sees a partial object. Reads go through a local cache
 * (`<SLUICE_HOME>/artifact-cache`, itself a {@link LocalArtifactStorage}) so DuckDB reads local files;
 * downloaded bytes are hashed and refused, not cached, when they do not match the ref.
 */
export class S3ArtifactStorage implements ArtifactStorage {
  readonly cache: LocalArtifactStorage;
  private readonly threshold: number;
  private readonly partSize: number;

  constructor(
    readonly location: S3Location,
    private readonly s3: S3Client,
    options: S3StorageOptions = {},
  ) {
    this.cache = new LocalArtifactStorage(location.cacheRoot);
    this.partSize = Math.max(5 * MiB, options.partSize ?? 8 * MiB);
    this.threshold = Math.max(this.partSize, options.multipartThreshold ?? 16 * MiB);
  }

  withStagingFile<T>(format: ArtifactFormat, fn: (path: string) => Promise<T>): Promise<T> {
    return this.cache.withStagingFile(format, fn);
  }

  async putFile(path: string, meta: ArtifactMeta): Promise<ArtifactRef> {
    return this.publish(await this.cache.putFile(path, meta), meta);
  }

  async putBytes(bytes: Uint8Array, meta: ArtifactMeta): Promise<ArtifactRef> {
    return this.publish(await this.cache.putBytes(bytes, meta), meta);
  }

  async putStream(
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    meta: ArtifactMeta,
  ): Promise<ArtifactRef> {
    return this.publish(await this.cache.putStream(chunks, meta), meta);
  }

  async putJson(value: JsonValue, meta: Omit<ArtifactMeta, 'format'>): Promise<ArtifactRef> {
    return this.publish(await this.cache.putJson(value, meta), { ...meta, format: 'json' });
  }

  async open(ref: ArtifactRef): Promise<string> {
    try {
      return await this.cache.open(ref);
    } catch (error) {
      // not cached, or the cached copy is damaged: fetch the bytes again by hash
      if (!(error instanceof ArtifactIntegrityError)) throw error;
    }
    await this.download(ref);
    return this.cache.open(ref);
  }

  async verify(ref: ArtifactRef): Promise<void> {
    await this.open(ref);
  }

  async readBytes(ref: ArtifactRef): Promise<Buffer> {
    const path = await this.open(ref);
    const data = await readFile(path);
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (sha256 !== ref.sha256) {
      throw new ArtifactIntegrityError(
        `artifact ${ref.kind} ${ref.sha256} changed in the local cache (${path}) while being read: delete it and read again`,
        { details: { sha256: ref.sha256, path } },
      );
    }
    return data;
  }

  async readJson<T extends JsonValue = JsonValue>(ref: ArtifactRef): Promise<T> {
    return JSON.parse((await this.readBytes(ref)).toString('utf8')) as T;
  }

  async describe(ref: ArtifactRef | string): Promise<ArtifactSidecar> {
    const sha256 = checkedSha(typeof ref === 'string' ? ref : ref.sha256);
    const key = this.sidecarKey(sha256);
    let text: string;
    try {
      const got = await this.s3.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: key }));
      text = (await got.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      if (isNotFound(error)) {
        throw new InvalidInputError(
          `no artifact ${sha256} in the store ${describeLocation(this.location)} (no sidecar ${key}): check the sha256 and SLUICE_ARTIFACTS`,
          { details: { sha256, sidecar: key } },
        );
      }
      throw s3Failure(error, this.location, `reading the sidecar of ${sha256}`);
    }
    try {
      return JSON.parse(text) as ArtifactSidecar;
    } catch (error) {
      throw new ArtifactIntegrityError(
        `the sidecar of artifact ${sha256} (${key} in ${describeLocation(this.location)}) is unreadable: delete it and store the artifact again (re-run the step that produced it)`,
        { cause: error, details: { sha256, sidecar: key } },
      );
    }
  }

  async has(ref: ArtifactRef | string): Promise<boolean> {
    let sidecar: ArtifactSidecar;
    try {
      sidecar = await this.describe(ref);
    } catch (error) {
      if (error instanceof InvalidInputError) return false;
      throw error;
    }
    return (await this.remoteSize(this.dataKey(sidecar.sha256, sidecar.format))) !== undefined;
  }

  /** The object key of an artifact's bytes. */
  dataKey(sha256: string, format: ArtifactFormat): string {
    return this.key(`${checkedSha(sha256).slice(0, 2)}/${sha256}.${extensionOf(format)}`);
  }

  sidecarKey(sha256: string): string {
    return this.key(`${checkedSha(sha256).slice(0, 2)}/${sha256}.meta.json`);
  }

  private key(rest: string): string {
    return this.location.prefix ? `${this.location.prefix}/${rest}` : rest;
  }

  /** Upload a ref's cached bytes under their key unless already there, then its sidecar if missing. */
  private async publish(ref: ArtifactRef, meta: ArtifactMeta): Promise<ArtifactRef> {
    const key = this.dataKey(ref.sha256, ref.format);
    const path = this.cache.layout.data(ref.sha256, ref.format);
    if ((await this.remoteSize(key)) !== ref.bytes) await this.upload(path, key, ref.bytes);
    const sidecarKey = this.sidecarKey(ref.sha256);
    if ((await this.remoteSize(sidecarKey)) === undefined) {
      const sidecar: ArtifactSidecar = {
        sha256: ref.sha256,
        bytes: ref.bytes,
        kind: ref.kind,
        format: ref.format,
        ...(ref.rows === undefined ? {} : { rows: ref.rows }),
        ...(ref.schema === undefined ? {} : { schema: ref.schema }),
        producer: meta.producer ?? null,
        createdAt: new Date().toISOString(),
      };
      await this.send(`storing the sidecar of ${ref.sha256}`, () =>
        this.s3.send(
          new PutObjectCommand({
            Bucket: this.location.bucket,
            Key: sidecarKey,
            Body: `${JSON.stringify(sidecar, null, 2)}\n`,
            ContentType: 'application/json',
          }),
        ),
      );
    }
    return ref;
  }

  private async upload(path: string, key: string, bytes: number): Promise<void> {
    const action = `uploading ${key}`;
    if (bytes < this.threshold) {
      const body = await readFile(path);
      await this.send(action, () =>
        this.s3.send(
          new PutObjectCommand({ Bucket: this.location.bucket, Key: key, Body: body, ContentLength: bytes }),
        ),
      );
      return;
    }
    const created = await this.send(action, () =>
      this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.location.bucket, Key: key })),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw s3Failure(new Error('no UploadId in the reply'), this.location, action);
    const file = await openFile(path, 'r');
    try {
      const parts: CompletedPart[] = [];
      for (let offset = 0, number = 1; offset < bytes; offset += this.partSize, number++) {
        const length = Math.min(this.partSize, bytes - offset);
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await file.read(buffer, 0, length, offset);
        if (bytesRead !== length) throw new Error(`short read of ${path} at ${offset}`);
        const part = await this.send(action, () =>
          this.s3.send(
            new UploadPartCommand({
              Bucket: this.location.bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: number,
              Body: buffer,
              ContentLength: length,
            }),
          ),
        );
        parts.push({ ETag: part.ETag, PartNumber: number });
      }
      await this.send(action, () =>
        this.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.location.bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        ),
      );
    } catch (error) {
      await this.s3
        .send(new AbortMultipartUploadCommand({ Bucket: this.location.bucket, Key: key, UploadId: uploadId }))
        .catch(() => undefined);
      throw s3Failure(error, this.location, action);
    } finally {
      await file.close();
    }
  }

  /** Download an artifact into the cache, hashing on the way; bytes that do not match are refused. */
  private async download(ref: ArtifactRef): Promise<void> {
    const key = this.dataKey(ref.sha256, ref.format);
    const where = `${key} in ${describeLocation(this.location)}`;
    await this.cache.withStagingFile(ref.format, async (staged) => {
      let body: Readable;
      try {
        const got = await this.s3.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: key }));
        body = got.Body as Readable;
      } catch (error) {
        if (isNotFound(error)) {
          throw new ArtifactIntegrityError(
            `artifact ${ref.kind} ${ref.sha256} (${where}) is missing from the store: it was deleted after it was stored; re-run the step that produced it`,
            { details: { sha256: ref.sha256, key } },
          );
        }
        throw s3Failure(error, this.location, `downloading ${key}`);
      }
      const hash = createHash('sha256');
      let size = 0;
      const file = await openFile(staged, 'wx');
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          hash.update(chunk);
          size += chunk.byteLength;
          await file.write(chunk);
        }
      } catch (error) {
        throw s3Failure(error, this.location, `downloading ${key}`);
      } finally {
        await file.close();
      }
      const sha256 = hash.digest('hex');
      if (size !== ref.bytes || sha256 !== ref.sha256) {
        throw new ArtifactIntegrityError(
          `artifact ${ref.kind} ${ref.sha256} (${where}) has ${size} bytes hashing to ${sha256}, not the ${ref.bytes} bytes it was stored with: ` +
            'it was tampered with or corrupted after it was stored, so it is refused (and not cached); delete the object and re-run the step that produced it',
          { details: { sha256: ref.sha256, key, observed: sha256, bytes: size } },
        );
      }
      await this.cache.putFile(staged, {
        kind: ref.kind,
        format: ref.format,
        ...(ref.rows === undefined ? {} : { rows: ref.rows }),
        ...(ref.schema === undefined ? {} : { schema: ref.schema }),
      });
    });
  }

  /** The size of an object, or undefined when there is none. */
  private async remoteSize(key: string): Promise<number | undefined> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw s3Failure(error, this.location, `checking ${key}`);
    }
  }

  private async send<T>(action: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw s3Failure(error, this.location, action);
    }
  }
}
