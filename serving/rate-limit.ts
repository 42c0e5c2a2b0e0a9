/**
 * A token bucket per key (an identity, or a client address): `perMinute` requests a minute on average,
 * with bursts up to `perMinute`. In memory, per process; the number of keys is bounded so a flood of
 * distinct keys cannot grow it without end (the stalest are dropped first).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly perMinute: number,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Take one request for `key`: `0` when allowed, else the seconds until one would be. */
  take(key: string): number {
    if (this.perMinute <= 0) return 0;
    const now = this.now();
    const ratePerMs = this.perMinute / 60_000;
    const bucket = this.buckets.get(key);
    let tokens = this.perMinute;
    if (bucket) {
      tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * ratePerMs);
      this.buckets.delete(key); // re-inserted below: the map's order is least recently used first
    } else if (this.buckets.size >= this.maxKeys) {
      const stalest = this.buckets.keys().next();
      if (!stalest.done) this.buckets.delete(stalest.value);
    }
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now });
      return Math.max(1, Math.ceil((1 - tokens) / ratePerMs / 1000));
    }
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    return 0;
  }
}
