import { describe, expect, it } from "vitest";
import { failureBudgetFor, planWaveSizes, planWaves, strategySchema } from "./plan.ts";

const s = (input: Parameters<typeof strategySchema.parse>[0]) => strategySchema.parse(input);

describe("planWaveSizes", () => {
  it("puts the canary first, then percentage chunks", () => {
    expect(planWaveSizes(100, s({ canarySize: 1, wavePercent: 25 }))).toEqual([1, 25, 25, 25, 24]);
  });

  it("sums to the total and never makes an empty wave, for many shapes", () => {
    for (const total of [1, 2, 3, 7, 10, 99, 100, 101, 199, 200, 201, 1000, 4321]) {
      for (const canarySize of [0, 1, 3, 20]) {
        for (const wavePercent of [0.5, 1, 10, 33, 50, 100]) {
          const sizes = planWaveSizes(total, s({ canarySize, wavePercent }));
          expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
          expect(sizes.every((x) => x >= 1)).toBe(true);
          // no cliff: after the first non-canary wave, never more than twice the previous wave
          const start = canarySize > 0 ? 2 : 1;
          for (let i = start; i < sizes.length; i++) expect(sizes[i]!).toBeLessThanOrEqual(2 * sizes[i - 1]!);
        }
      }
    }
  });

  it("has no cliff at 200 targets (fleet#3827): 199, 200 and 201 plan alike", () => {
    const a = planWaveSizes(199, s({ canarySize: 1, wavePercent: 10 }));
    const b = planWaveSizes(201, s({ canarySize: 1, wavePercent: 10 }));
    expect(Math.abs(a.length - b.length)).toBeLessThanOrEqual(1);
  });

  it("ramps an explicit [10, 90] instead of jumping to 90%", () => {
    const sizes = planWaveSizes(101, s({ canarySize: 1, waves: [10, 90] }));
    expect(sizes).toEqual([1, 10, 20, 40, 30]);
  });

  it("rounds tiny percentages up to one appliance", () => {
    expect(planWaveSizes(5, s({ canarySize: 0, wavePercent: 1 }))).toEqual([1, 1, 1, 1, 1]);
  });

  it("caps the canary at the total", () => {
    expect(planWaveSizes(2, s({ canarySize: 5 }))).toEqual([2]);
    expect(planWaveSizes(0, s({}))).toEqual([]);
  });
});

describe("planWaves", () => {
  it("prefers an online appliance for the canary and keeps the rest in id order", () => {
    const targets = [
      { applianceId: "apl_a", online: false },
      { applianceId: "apl_b", online: true },
      { applianceId: "apl_c", online: true },
      { applianceId: "apl_d", online: false },
    ];
    const waves = planWaves(targets, s({ canarySize: 1, wavePercent: 50 }));
    expect(waves.map((w) => w.applianceIds)).toEqual([["apl_b"], ["apl_a", "apl_c"], ["apl_d"]]);
    expect(waves[0]!.canary).toBe(true);
    expect(waves[1]!.canary).toBe(false);
  });
});

describe("failureBudgetFor", () => {
  it("tolerates nothing in the canary, a count or a percentage (at least one) elsewhere", () => {
    expect(failureBudgetFor(s({ failureBudget: 3 }), 10, true)).toBe(0);
    expect(failureBudgetFor(s({ failureBudget: 3 }), 10, false)).toBe(3);
    expect(failureBudgetFor(s({ failureBudget: "10%" }), 50, false)).toBe(5);
    expect(failureBudgetFor(s({ failureBudget: "2%" }), 10, false)).toBe(1);
    expect(failureBudgetFor(s({ failureBudget: "0%" }), 10, false)).toBe(0);
  });
});
