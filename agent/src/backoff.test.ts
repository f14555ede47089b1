// Full-jitter backoff: bounded by min(max, base * 2^attempt), and actually spread.
import { describe, expect, it } from "vitest";
import { fullJitter, sleep } from "./backoff.ts";

describe("fullJitter", () => {
  it("stays within the exponential ceiling and the cap", () => {
    const o = { baseMs: 100, maxMs: 1_000 };
    for (let attempt = 0; attempt < 40; attempt++) {
      for (let i = 0; i < 50; i++) {
        const d = fullJitter(attempt, o);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(Math.min(1_000, 100 * 2 ** attempt));
      }
    }
  });

  it("spreads a fleet over the whole window", () => {
    const ds = Array.from({ length: 2_000 }, () => fullJitter(5, { baseMs: 100, maxMs: 60_000 })).sort((a, b) => a - b);
    // uniform on [0, 3200): the 10th and 90th percentiles sit near 320 and 2880
    expect(ds[200]!).toBeLessThan(600);
    expect(ds[1_800]!).toBeGreaterThan(2_500);
  });

  it("sleep ends early when aborted", async () => {
    const ctl = new AbortController();
    const t0 = performance.now();
    setTimeout(() => ctl.abort(), 10);
    await sleep(10_000, ctl.signal);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});
