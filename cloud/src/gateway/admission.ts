// Admission control for new tunnel sessions: a token bucket per replica and a randomised retry-after.

export interface AdmissionOptions {
  /** new sessions per second (sustained) */
  ratePerSec: number;
  /** sessions admitted at once from a full bucket */
  burst: number;
  /** a refused client is told to wait a uniformly random time in [min, max] ms */
  retryAfterMs: [number, number];
  /**
   * sessions between upgrade and welcome at once; beyond it new upgrades are refused. Without this cap a storm
   * queues more database work than can finish before the agents' own timeouts, and nobody gets through.
   */
  maxInFlight: number;
}

export const defaultAdmission: AdmissionOptions = {
  ratePerSec: 50,
  burst: 100,
  retryAfterMs: [1_000, 10_000],
  maxInFlight: 64,
};

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly rate: number;
  private readonly burst: number;
  private readonly now: () => number;
  constructor(ratePerSec: number, burst: number, now: () => number = () => performance.now()) {
    this.rate = ratePerSec;
    this.burst = burst;
    this.tokens = burst;
    this.now = now;
    this.last = now();
  }
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export function randomBetween([min, max]: [number, number], random: () => number = Math.random): number {
  return Math.round(min + random() * Math.max(0, max - min));
}
