// ratelimit.ts — per-client token buckets: N tokens a second with a burst of 2N, one bucket per key (an IP).
// Pure: the caller passes the time, so tests need no clock.

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** `perSecond` 0 turns the limiter off. */
  constructor(
    readonly perSecond: number,
    readonly burst = perSecond * 2,
  ) {}

  /** Takes a token for `key`; returns 0 when allowed, or the seconds to wait before trying again. */
  take(key: string, nowMs: number): number {
    if (this.perSecond <= 0) return 0;
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.burst, at: nowMs };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((nowMs - b.at) / 1000) * this.perSecond);
      b.at = nowMs;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / this.perSecond);
  }

  /** Forgets buckets that have been full for a while, so memory stays bounded by active clients. */
  sweep(nowMs: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + ((nowMs - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(k);
  }

  get size(): number {
    return this.buckets.size;
  }
}
