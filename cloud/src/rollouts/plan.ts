// Wave planning: a pure function from the ordered targets and a strategy to waves (canary first, then
// percentage chunks of at least one appliance, never more than twice the previous wave: no size cliff).
import { z } from "zod";

export const strategySchema = z
  .object({
    /** appliances in the canary wave (0 = no canary); the canary tolerates no failure */
    canarySize: z.number().int().min(0).max(1000).default(1),
    /** share of the remaining (non-canary) targets per wave, in percent; the last value repeats */
    waves: z.array(z.number().min(0.01).max(100)).min(1).max(100).optional(),
    /** the same percentage for every wave (used when `waves` is absent) */
    wavePercent: z.number().min(0.01).max(100).default(25),
    /** at most this many targets applying at once within a wave */
    concurrency: z.number().int().min(1).max(10_000).default(10),
    /** failures (failed + timed out) tolerated per wave before the rollout halts: a count, or "N%" of the wave */
    failureBudget: z
      .union([z.number().int().min(0).max(100_000), z.string().regex(/^\d{1,3}(\.\d+)?%$/, 'a count or "N%"')])
      .default("2%"),
    /** a target still applying after this long is timed out (counted as a failure) */
    progressDeadlineSeconds: z
      .number()
      .int()
      .min(10)
      .max(7 * 86_400)
      .default(1200),
    /** a wave holds only when each healthy target has stayed healthy this long (from our own timestamps) */
    soakSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .default(300),
    /** fleet-wide start rate of this rollout: at most this many targets start per minute */
    startsPerMinute: z.number().int().min(1).max(100_000).default(20),
  })
  .strict();
export type Strategy = z.infer<typeof strategySchema>;
export type StrategyInput = z.input<typeof strategySchema>;

export interface PlanTarget {
  applianceId: string;
  /** connected now; the canary prefers online appliances so it does not wait on an offline one */
  online: boolean;
}

export interface PlannedWave {
  index: number;
  size: number;
  applianceIds: string[];
  canary: boolean;
}

/** Wave sizes for `total` targets; exported for tests of the size rules alone. */
export function planWaveSizes(
  total: number,
  strategy: Pick<Strategy, "canarySize" | "waves" | "wavePercent">,
): number[] {
  if (total <= 0) return [];
  const sizes: number[] = [];
  const canary = Math.min(strategy.canarySize, total);
  if (canary > 0) sizes.push(canary);
  const rest = total - canary;
  const percents = strategy.waves && strategy.waves.length > 0 ? strategy.waves : [strategy.wavePercent];
  let remaining = rest;
  let previous = 0; // previous non-canary wave size; 0 = none yet (the first may jump from the canary)
  let i = 0;
  while (remaining > 0) {
    const pct = percents[Math.min(i, percents.length - 1)]!;
    let size = Math.max(1, Math.round((rest * pct) / 100));
    // no cliff: a wave is at most twice the previous one
    if (previous > 0) size = Math.min(size, previous * 2);
    size = Math.min(size, remaining);
    // a final sliver smaller than a quarter of this wave joins it rather than trailing as its own wave
    const after = remaining - size;
    if (after > 0 && after < Math.ceil(size / 4) && (previous === 0 || size + after <= previous * 2)) size += after;
    sizes.push(size);
    remaining -= size;
    previous = size;
    i++;
  }
  return sizes;
}

/** Orders targets (online first for the canary, then by id for stable plans) and cuts them into waves. */
export function planWaves(
  targets: PlanTarget[],
  strategy: Pick<Strategy, "canarySize" | "waves" | "wavePercent">,
): PlannedWave[] {
  const byId = [...targets].sort((a, b) =>
    a.applianceId < b.applianceId ? -1 : a.applianceId > b.applianceId ? 1 : 0,
  );
  const canaryCount = Math.min(strategy.canarySize, byId.length);
  const canaryPick = [...byId.filter((t) => t.online), ...byId.filter((t) => !t.online)].slice(0, canaryCount);
  const picked = new Set(canaryPick.map((t) => t.applianceId));
  const ordered = [...canaryPick, ...byId.filter((t) => !picked.has(t.applianceId))];
  const sizes = planWaveSizes(ordered.length, strategy);
  const waves: PlannedWave[] = [];
  let offset = 0;
  sizes.forEach((size, index) => {
    waves.push({
      index,
      size,
      applianceIds: ordered.slice(offset, offset + size).map((t) => t.applianceId),
      canary: index === 0 && canaryCount > 0,
    });
    offset += size;
  });
  return waves;
}

/** The number of failures a wave of `size` tolerates; the canary tolerates none. */
export function failureBudgetFor(strategy: Pick<Strategy, "failureBudget">, size: number, canary: boolean): number {
  if (canary) return 0;
  const b = strategy.failureBudget;
  if (typeof b === "number") return b;
  const pct = Number(b.slice(0, -1));
  return pct === 0 ? 0 : Math.max(1, Math.floor((size * pct) / 100));
}
