// ratelimit.ts — per-visitor limits: token buckets (N requests a second, bursts of 2N) and counts of what each visitor
// holds open (SSE streams, their glob patterns) against a cap per kind. Pure: the caller passes the time.

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

  /** The tokens `key` holds now, taking none (a key never seen holds a full burst): for limits that count failures only. */
  peek(key: string, nowMs: number): number {
    const b = this.buckets.get(key);
    return b ? Math.min(this.burst, b.tokens + ((nowMs - b.at) / 1000) * this.perSecond) : this.burst;
  }

  /** Forgets buckets that have been full for a while, so memory stays bounded by active clients. */
  sweep(nowMs: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + ((nowMs - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(k);
  }

  get size(): number {
    return this.buckets.size;
  }
}

/**
 * What each key (a visitor) holds open, by kind (for example streams and patterns), against a cap per kind (0: no
 * cap). A key that holds nothing is forgotten, so memory stays bounded by visitors with something open.
 */
export class HeldLimits<K extends string> {
  private readonly held = new Map<string, Record<K, number>>();

  constructor(readonly caps: Record<K, number>) {}

  /** Takes `amounts` for `key` if every kind stays within its cap (null); else returns the kind over it, taking nothing. */
  take(key: string, amounts: Record<K, number>): K | null {
    const now = this.held.get(key);
    for (const kind in amounts) {
      const cap = this.caps[kind];
      if (cap > 0 && amounts[kind] > 0 && (now?.[kind] ?? 0) + amounts[kind] > cap) return kind;
    }
    if (now) for (const kind in amounts) now[kind] += amounts[kind];
    else this.held.set(key, { ...amounts });
    return null;
  }

  /** Gives back what a `take` took. */
  give(key: string, amounts: Record<K, number>): void {
    const now = this.held.get(key);
    if (!now) return;
    let left = 0;
    for (const kind in now) left += now[kind] = Math.max(0, now[kind] - (amounts[kind] ?? 0));
    if (left === 0) this.held.delete(key);
  }

  /** What `key` holds now; undefined when nothing. */
  heldBy(key: string): Readonly<Record<K, number>> | undefined {
    return this.held.get(key);
  }

  /** How many keys hold something. */
  get size(): number {
    return this.held.size;
  }
}
