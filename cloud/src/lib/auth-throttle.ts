// Throttles repeated authentication failures per client IP and per presented key prefix.
// In memory, per process: with N replicas an attacker gets at most N times the budget; documented in docs/cloud.md.
import type { Clock } from "./clock.ts";

export interface AuthThrottleOptions {
  clock: Clock;
  /** failures allowed in a window before answering 429 */
  maxFailures: number;
  windowMs: number;
  /** bound on tracked identities, so a flood of distinct IPs cannot grow memory without limit */
  maxEntries?: number;
}

interface Bucket {
  count: number;
  windowStart: number;
}

export class AuthThrottle {
  private readonly buckets = new Map<string, Bucket>();
  private readonly opts: Required<AuthThrottleOptions>;

  constructor(opts: AuthThrottleOptions) {
    this.opts = { maxEntries: 100_000, ...opts };
  }

  /** Seconds until `keys` may try again, or 0 when none of them is blocked. */
  retryAfterSeconds(keys: string[]): number {
    const now = this.opts.clock.now().getTime();
    let wait = 0;
    for (const key of keys) {
      const b = this.buckets.get(key);
      if (!b) continue;
      const end = b.windowStart + this.opts.windowMs;
      if (now >= end) {
        this.buckets.delete(key);
        continue;
      }
      if (b.count >= this.opts.maxFailures) wait = Math.max(wait, Math.ceil((end - now) / 1000));
    }
    return wait;
  }

  recordFailure(keys: string[]): void {
    const now = this.opts.clock.now().getTime();
    for (const key of keys) {
      const b = this.buckets.get(key);
      if (!b || now >= b.windowStart + this.opts.windowMs) {
        if (this.buckets.size >= this.opts.maxEntries) this.evictOldest();
        this.buckets.set(key, { count: 1, windowStart: now });
      } else {
        b.count++;
      }
    }
  }

  private evictOldest(): void {
    const first = this.buckets.keys().next();
    if (!first.done) this.buckets.delete(first.value);
  }
}
