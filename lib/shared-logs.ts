import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { InvalidInputError } from '../pipelines/errors.js';
import { s3ClientFor } from './artifacts/index.js';
import { feedbackDirName } from './feedback-log.js';
import type { ArtifactLocation } from './artifacts/location.js';
import { s3Failure } from './artifacts/s3-errors.js';

type S3Location = Extract<ArtifactLocation, { kind: 's3' }>;

/** How long one publish of a log file retries an unavailable store before it is left for the next flush. */
const publishWaitMs = 2000;

/**
 * The prediction and feedback logs of `sluice serve`, shared through the S3 store so the monitor on
 * any worker reads what every serving replica logged (docs/cluster.md). Each replica keeps writing its
 * own files under `SLUICE_PREDICTION_LOG_DIR` and publishes each finished one under
 * `<prefix>/logs/<path relative to that directory>`; a reader mirrors them into its own home. Whole
 * objects only: an S3 PUT is atomic, so a reader never sees half a file.
 */
export interface SharedLogs {
  /** Where the logs are shared, for messages. */
  readonly where: string;
  /** Upload the finished file at `file` as `<logs>/<path>` (replaces an earlier upload of the same path). */
  publish(path: string, file: string): Promise<void>;
  /**
   * Copy every shared file under `<logs>/<dir>/` that is missing or changed here into
   * `<localRoot>/<dir>/`; returns how many files the shared directory holds.
   */
  mirror(dir: string, localRoot: string): Promise<number>;
}

/** The shared logs of an S3 store; undefined for a local store (the logs are files on that machine). */
export function sharedLogsFor(location: ArtifactLocation): SharedLogs | undefined {
  return location.kind === 's3' ? new S3SharedLogs(location) : undefined;
}

/**
 * Bring a model's shared prediction log and every replica's feedback into `<home>/shared-logs/` (only
 * what is new or changed) and return the directory to read them from, laid out as
 * `SLUICE_PREDICTION_LOG_DIR` is ({@link readLabeledPredictions} reads either).
 */
export async function mirrorPredictionLog(shared: SharedLogs, home: string, model: string): Promise<string> {
  const root = join(home, 'shared-logs');
  await shared.mirror(`prediction-log/${model}`, root);
  await shared.mirror(`prediction-log/${feedbackDirName}`, root);
  return join(root, 'prediction-log');
}

/** A name for this replica's files that differs between machines and homes and stays the same across restarts. */
export function replicaName(home: string): string {
  return createHash('sha256').update(`${hostname()}\0${home}`).digest('hex').slice(0, 12);
}

class S3SharedLogs implements SharedLogs {
  readonly where: string;

  constructor(private readonly location: S3Location) {
    this.where = `s3://${location.bucket}/${this.key('')}`;
  }

  async publish(path: string, file: string): Promise<void> {
    const key = this.key(checked(path));
    const body = await readFile(file);
    try {
      // Serving publishes on its flush path: a down store must not stall it for the store's usual
      // outage wait. A failed publish stays queued locally and is retried on the next flush.
      await s3ClientFor({ ...this.location, waitMs: publishWaitMs }).send(
        new PutObjectCommand({
          Bucket: this.location.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
        }),
      );
    } catch (error) {
      throw s3Failure(error, this.location, `publishing the log file ${key}`);
    }
  }

  async mirror(dir: string, localRoot: string): Promise<number> {
    const s3 = s3ClientFor(this.location);
    const prefix = this.key(`${checked(dir)}/`);
    let token: string | undefined;
    let count = 0;
    do {
      let listed;
      try {
        listed = await s3.send(
          new ListObjectsV2Command({
            Bucket: this.location.bucket,
            Prefix: prefix,
            ContinuationToken: token,
          }),
        );
      } catch (error) {
        throw s3Failure(error, this.location, `listing the shared logs under ${prefix}`);
      }
      for (const object of listed.Contents ?? []) {
        const name = (object.Key ?? '').slice(prefix.length);
        if (name === '' || name.includes('/') || name.startsWith('.')) continue;
        count++;
        const local = join(localRoot, dir, name);
        const size = await stat(local).then(
          (s) => s.size,
          () => -1,
        );
        if (size === object.Size) continue;
        await this.download(object.Key ?? '', local);
      }
      token = listed.IsTruncated ? listed.NextContinuationToken : undefined;
    } while (token);
    return count;
  }

  private async download(key: string, local: string): Promise<void> {
    let bytes: Uint8Array;
    try {
      const got = await s3ClientFor(this.location).send(
        new GetObjectCommand({ Bucket: this.location.bucket, Key: key }),
      );
      bytes = (await got.Body?.transformToByteArray()) ?? new Uint8Array();
    } catch (error) {
      throw s3Failure(error, this.location, `downloading the log file ${key}`);
    }
    // Hidden while written (readers skip dot files), then renamed into place.
    await mkdir(dirname(local), { recursive: true });
    const temp = join(dirname(local), `.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writeFile(temp, bytes);
      await rename(temp, local);
    } finally {
      await rm(temp, { force: true });
    }
  }

  private key(rest: string): string {
    return (
      [this.location.prefix, 'logs', rest].filter((part) => part !== '').join('/') + (rest === '' ? '/' : '')
    );
  }
}

/** A relative log path: no `..`, no absolute path, no empty segment. */
function checked(path: string): string {
  const parts = path.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..')) {
    throw new InvalidInputError(`log path "${path}" must be relative, without "." or ".." segments`);
  }
  return path;
}
