import { ConfigurationError, DependencyUnavailableError, SluiceError } from '../../pipelines/errors.js';
import { describeLocation, type ArtifactLocation } from './location.js';

type S3Location = Extract<ArtifactLocation, { kind: 's3' }>;

const credentialCodes = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'InvalidClientTokenId',
  'CredentialsProviderError',
]);
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** What an S3 SDK error carries that decides what it means. */
function facts(error: unknown): { name: string; status: number | undefined; code: string | undefined } {
  const e = error as {
    name?: string;
    Code?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    cause?: { code?: string };
  };
  return {
    name: e.Code ?? e.name ?? 'Error',
    status: e.$metadata?.httpStatusCode,
    code: e.code ?? e.cause?.code,
  };
}

/** Whether the error says the object (or its sidecar) is not there. */
export function isNotFound(error: unknown): boolean {
  const { name, status } = facts(error);
  return name === 'NoSuchKey' || name === 'NotFound' || (status === 404 && name !== 'NoSuchBucket');
}

/**
 * Turn an S3 SDK failure into a Sluice error that says what to do: an unreachable endpoint is
 * retryable and names it; refused credentials and a missing bucket are not, and say which variable
 * to fix. Already-Sluice errors pass through.
 */
export function s3Failure(error: unknown, location: S3Location, action: string): SluiceError {
  if (error instanceof SluiceError) return error;
  const { name, status, code } = facts(error);
  const store = describeLocation(location);
  const endpoint = location.endpoint ?? `AWS S3 (${location.region})`;
  const details = { store, action, error: name, status, code };
  if (name === 'NoSuchBucket') {
    return new ConfigurationError(
      `bucket "${location.bucket}" does not exist at ${endpoint}: create it (\`aws s3 mb s3://${location.bucket}\`, or \`sluice cluster up\` for the local MinIO) or fix SLUICE_ARTIFACTS`,
      { cause: error, details },
    );
  }
  if (credentialCodes.has(name) || status === 403) {
    // A HEAD request's 403 has no body, so no error code: say what the service said.
    const said = credentialCodes.has(name) ? name : 'HTTP 403 Forbidden';
    return new ConfigurationError(
      `the S3 store ${store} refused the credentials while ${action} (${said}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
      { cause: error, details },
    );
  }
  if ((code !== undefined && networkCodes.has(code)) || name === 'TimeoutError' || status === undefined) {
    return new DependencyUnavailableError(
      `the S3 store at ${endpoint} is unreachable while ${action} (${code ?? name}): start it or fix SLUICE_S3_ENDPOINT; the step is retried`,
      { cause: error, details },
    );
  }
  return new DependencyUnavailableError(
    `the S3 store ${store} failed while ${action} (${name}, HTTP ${status}): ${(error as Error).message.split('\n')[0]}; the step is retried`,
    { cause: error, details },
  );
}
