/**
 * How long one request to the S3 store keeps retrying a service that is unreachable, restarting or
 * throttling before the step sees the error (and its own retry policy takes over). Long enough to ride
 * out a restart of the service (MinIO comes back in seconds), short enough that a store that is really
 * gone fails the step within a few minutes with the endpoint named.
 */
export const storeOutageMs = 120_000;

/** A retry token as the AWS SDK's retry middleware reads it. */
interface StoreRetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
  /** When the first attempt failed (epoch ms). */
  readonly since: number;
}

/** What the SDK says about a failed attempt: `TRANSIENT` covers ECONNREFUSED/ECONNRESET and 5xx. */
interface RetryErrorInfo {
  errorType: string;
  error?: unknown;
}

/** Told once per request, on its first retry: which store, what failed, how long it will wait. */
export type StoreWaitListener = (message: string) => void;

/**
 * The S3 client's retry strategy (the SDK's `RetryStrategyV2` shape): transient failures (connection
 * refused or reset, timeouts, 5xx) and throttling are retried with a fixed, capped backoff (250 ms
 * doubling to 5 s) until {@link storeOutageMs} has passed since the first failure; anything else (refused
 * credentials, a missing bucket or key) fails at once. The SDK's standard strategy gives up after three
 * attempts within a second, so a restarting MinIO failed every step that touched it.
 */
export class StoreRetryStrategy {
  readonly mode = 'standard';

  constructor(
    private readonly endpoint: string,
    private readonly onWait: StoreWaitListener,
    private readonly outageMs = storeOutageMs,
  ) {}

  acquireInitialRetryToken(): Promise<StoreRetryToken> {
    return Promise.resolve(token(0, 0, Number.NaN));
  }

  refreshRetryTokenForRetry(previous: StoreRetryToken, info: RetryErrorInfo): Promise<StoreRetryToken> {
    if (info.errorType !== 'TRANSIENT' && info.errorType !== 'THROTTLING') {
      return Promise.reject(new Error(`not retried: ${info.errorType}`));
    }
    const count = previous.getRetryCount();
    const since = count === 0 ? Date.now() : previous.since;
    const delay = Math.min(250 * 2 ** count, 5000);
    if (Date.now() + delay - since > this.outageMs) {
      return Promise.reject(new Error(`the store stayed unavailable for ${this.outageMs} ms`));
    }
    if (count === 0) {
      this.onWait(
        `the S3 store at ${this.endpoint} is unavailable (${describe(info)}): retrying for up to ${Math.round(this.outageMs / 1000)} s`,
      );
    }
    return Promise.resolve(token(count + 1, delay, since));
  }

  recordSuccess(): void {
    // no retry quota to refill: every request waits out an outage on its own deadline
  }
}

function token(count: number, delay: number, since: number): StoreRetryToken {
  return { getRetryCount: () => count, getRetryDelay: () => delay, since };
}

/** The failure in a few words: the network code, or the error's name and HTTP status. */
function describe(info: RetryErrorInfo): string {
  const error = info.error as
    | { name?: string; code?: string; cause?: { code?: string }; $metadata?: { httpStatusCode?: number } }
    | undefined;
  const code = error?.code ?? error?.cause?.code;
  if (code) return code;
  const status = error?.$metadata?.httpStatusCode;
  return `${error?.name ?? info.errorType}${status ? `, HTTP ${status}` : ''}`;
}

/** The default listener: a process warning (on stderr of the worker, `sluice serve` or the CLI). */
export const warnStoreWait: StoreWaitListener = (message) =>
  process.emitWarning(message, { code: 'SLUICE_STORE_UNAVAILABLE' });
