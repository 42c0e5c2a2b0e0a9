import { isAbsolute, join, resolve } from 'node:path';
import { ConfigurationError } from '../../pipelines/errors.js';

/** S3 credentials as given in the AWS variables; absent: the SDK's default chain (profile, instance role). */
export type S3Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/** Where artifacts live: `SLUICE_ARTIFACTS`, parsed. */
export type ArtifactLocation =
  | { kind: 'local'; root: string }
  | {
      kind: 's3';
      bucket: string;
      /** Key prefix without leading or trailing `/`; may be empty. */
      prefix: string;
      /** `SLUICE_S3_ENDPOINT` (MinIO and other S3-compatible services); absent: AWS. */
      endpoint: string | undefined;
      region: string;
      credentials: S3Credentials | undefined;
      /** The local read-through cache, `<SLUICE_HOME>/artifact-cache`, keyed by sha256. */
      cacheRoot: string;
      /** `SLUICE_S3_WAIT_MS`: how long a request retries an unavailable service; absent: 120 s. */
      waitMs?: number;
    };

export interface ArtifactLocationInput {
  /** `SLUICE_ARTIFACTS`: a directory, or `s3://bucket/prefix`; default `<home>/artifacts`. */
  artifacts: string | undefined;
  endpoint: string | undefined;
  region: string | undefined;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  sessionToken: string | undefined;
  /** `SLUICE_S3_WAIT_MS`. */
  waitMs?: number | undefined;
}

const bucketPattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Parse `SLUICE_ARTIFACTS` and the S3 variables.
 *
 * @throws ConfigurationError naming the variable and what is expected.
 */
export function parseArtifactLocation(
  input: ArtifactLocationInput,
  home: string,
  cwd: string,
): ArtifactLocation {
  const value = input.artifacts;
  if (value === undefined || !value.includes('://')) {
    const root =
      value === undefined ? join(home, 'artifacts') : isAbsolute(value) ? value : resolve(cwd, value);
    return { kind: 'local', root };
  }
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(value);
  if (!match) {
    throw new ConfigurationError(
      `SLUICE_ARTIFACTS=${JSON.stringify(value)} is invalid: give a local directory or s3://bucket/prefix`,
    );
  }
  const bucket = match[1] ?? '';
  if (!bucketPattern.test(bucket)) {
    throw new ConfigurationError(
      `SLUICE_ARTIFACTS=${JSON.stringify(value)} names bucket "${bucket}", which is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens): fix it`,
    );
  }
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((part) => part === '..' || part === '.')) {
    throw new ConfigurationError(
      `SLUICE_ARTIFACTS=${JSON.stringify(value)} has "." or ".." in its prefix: give a plain key prefix`,
    );
  }
  if ((input.accessKeyId === undefined) !== (input.secretAccessKey === undefined)) {
    throw new ConfigurationError(
      'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (or both unset to use the default AWS credential chain)',
    );
  }
  const credentials =
    input.accessKeyId !== undefined && input.secretAccessKey !== undefined
      ? {
          accessKeyId: input.accessKeyId,
          secretAccessKey: input.secretAccessKey,
          ...(input.sessionToken === undefined ? {} : { sessionToken: input.sessionToken }),
        }
      : undefined;
  return {
    kind: 's3',
    bucket,
    prefix,
    endpoint: input.endpoint,
    region: input.region ?? 'us-east-1',
    credentials,
    cacheRoot: join(home, 'artifact-cache'),
    ...(input.waitMs === undefined ? {} : { waitMs: input.waitMs }),
  };
}

/** How a location is shown in messages and `sluice` output (never credentials). */
export function describeLocation(location: ArtifactLocation): string {
  if (location.kind === 'local') return location.root;
  const uri = `s3://${location.bucket}${location.prefix ? `/${location.prefix}` : ''}`;
  return location.endpoint ? `${uri} at ${location.endpoint}` : uri;
}
