import { afterEach, describe, expect, it, vi } from 'vitest';
import { StoreRetryStrategy } from '../../lib/artifacts/s3-retry.js';

const refused = {
  errorType: 'TRANSIENT',
  error: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
};

afterEach(() => {
  vi.useRealTimers();
});

describe('the S3 store waits out an unavailable service', () => {
  it('retries a refused connection with a capped backoff until the outage deadline, and says so once', async () => {
    vi.useFakeTimers({ now: 0 });
    const said: string[] = [];
    const strategy = new StoreRetryStrategy('http://127.0.0.1:19000', (m) => said.push(m), 30_000);
    let token = await strategy.acquireInitialRetryToken();
    const delays: number[] = [];
    for (;;) {
      try {
        token = await strategy.refreshRetryTokenForRetry(token, refused);
      } catch {
        break;
      }
      delays.push(token.getRetryDelay());
      vi.advanceTimersByTime(token.getRetryDelay());
    }
    expect(delays.slice(0, 6)).toEqual([250, 500, 1000, 2000, 4000, 5000]);
    // It kept retrying for the whole window and no longer.
    expect(delays.reduce((a, b) => a + b, 0)).toBeGreaterThan(25_000);
    expect(delays.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(30_000);
    expect(said).toEqual([
      'the S3 store at http://127.0.0.1:19000 is unavailable (ECONNREFUSED): retrying for up to 30 s',
    ]);
  });

  it('fails at once on what waiting cannot fix (refused credentials, a missing bucket), and with no wait configured', async () => {
    const said: string[] = [];
    const strategy = new StoreRetryStrategy('http://127.0.0.1:19000', (m) => said.push(m));
    const token = await strategy.acquireInitialRetryToken();
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'CLIENT_ERROR' })).rejects.toThrow(
      /not retried/,
    );
    const impatient = new StoreRetryStrategy('http://127.0.0.1:19000', (m) => said.push(m), 0);
    await expect(impatient.refreshRetryTokenForRetry(token, refused)).rejects.toThrow(/unavailable for 0 ms/);
    expect(said).toEqual([]);
  });

  it('retries a service that answers 503 while it starts, naming the status', async () => {
    const said: string[] = [];
    const strategy = new StoreRetryStrategy('http://minio:9000', (m) => said.push(m));
    const starting = Object.assign(new Error('Server not initialized'), {
      name: 'ServiceUnavailable',
      $metadata: { httpStatusCode: 503 },
    });
    const token = await strategy.refreshRetryTokenForRetry(await strategy.acquireInitialRetryToken(), {
      errorType: 'TRANSIENT',
      error: starting,
    });
    expect(token.getRetryCount()).toBe(1);
    expect(said[0]).toContain('is unavailable (ServiceUnavailable, HTTP 503)');
  });
});
