// The rollout engine: one tick reads every unfinished rollout from Postgres, observes what the appliances
// reported, moves targets and waves, and writes every transition with its reason. No state lives in memory,
// so a restart, or another replica taking the scheduler lock, continues exactly where the last tick stopped.
import { createHash } from "node:crypto";
import { and, asc, eq, gt, inArray, isNull, lte, sql } from "drizzle-orm";
import type { Logger } from "pino";
import { newId } from "../../../shared/src/ids.ts";
import type { Db, DbOrTx } from "../db/client.ts";
import {
  appliances,
  customers,
  fleetAppliances,
  releases,
  rollouts,
  rolloutTargets,
  rolloutTransitions,
  rolloutWaves,
  type TargetState,
} from "../db/schema/index.ts";
import { writeAudit } from "../lib/audit.ts";
import type { Clock } from "../lib/clock.ts";
import { enqueueAlert } from "../services/alerts/enqueue.ts";
import { getDesiredState, setDesiredState } from "../tunnel/desired-state.ts";
import { strategySchema } from "./plan.ts";
import { checkWindow } from "./window.ts";

export const SCHEDULER_ACTOR = "scheduler";

export interface EngineDeps {
  db: Db;
  clock: Clock;
  /** base URL agents download uploaded charts from (`<publicUrl>/v1/agent/releases/:id/chart`) */
  publicUrl: string;
  logger?: Logger;
}

export interface TickResult {
  rollouts: number;
  started: number;
  transitions: number;
}

type Release = typeof releases.$inferSelect;
type Rollout = typeof rollouts.$inferSelect;
type Wave = typeof rolloutWaves.$inferSelect;

interface Target {
  id: string;
  applianceId: string;
  waveIndex: number;
  state: TargetState;
  reason: string | null;
  attempt: number;
  generation: number | null;
  startedAt: Date | null;
  healthyAt: Date | null;
  previousRelease: (typeof rolloutTargets.$inferSelect)["previousRelease"];
  online: boolean;
  applianceState: "active" | "disabled";
  lastSeenAt: Date | null;
  lastApply: (typeof appliances.$inferSelect)["lastApply"];
  window: (typeof customers.$inferSelect)["maintenanceWindow"];
  pinnedReleaseId: string | null;
  fleetReleaseId: string | null;
  releaseSeq: number | null;
  channel: string | null;
}

export const EMPTY_VALUES_DIGEST = createHash("sha256").update("{}").digest("hex");
const FAILED: TargetState[] = ["failed", "timed-out"];
const UNSETTLED: TargetState[] = ["pending", "applying"];

export const chartUrlFor = (publicUrl: string, release: Pick<Release, "id" | "chartUrl">) =>
  release.chartUrl ?? `${publicUrl}/v1/agent/releases/${release.id}/chart`;

export const releasePayload = (publicUrl: string, r: Release) => ({
  id: r.id,
  chartVersion: r.version,
  chartDigest: r.chartDigest,
  chartUrl: chartUrlFor(publicUrl, r),
});

/** One pass over every unfinished rollout. Safe to run concurrently with API calls (row locks serialise). */
export async function runSchedulerTick(deps: EngineDeps): Promise<TickResult> {
  const result: TickResult = { rollouts: 0, started: 0, transitions: 0 };
  const active = await deps.db
    .select({ id: rollouts.id })
    .from(rollouts)
    .where(
      and(
        isNull(rollouts.finishedAt),
        inArray(rollouts.state, ["running", "paused", "halted", "completed", "rolling-back"]),
      ),
    )
    .orderBy(asc(rollouts.id));
  for (const { id } of active) {
    try {
      const r = await deps.db.transaction((tx) => processRollout(tx, deps, id));
      result.rollouts++;
      result.started += r.started;
      result.transitions += r.transitions;
    } catch (err) {
      // one broken rollout must not stop the others; the next tick retries it
      deps.logger?.error({ err, rolloutId: id }, "rollout tick failed");
    }
  }
  return result;
}

class TickContext {
  started = 0;
  transitions = 0;
  readonly tx: DbOrTx;
  readonly rollout: Rollout;
  readonly now: Date;
  constructor(tx: DbOrTx, rollout: Rollout, now: Date) {
    this.tx = tx;
    this.rollout = rollout;
    this.now = now;
  }

  async moveTarget(
    t: Target,
    to: TargetState,
    reason: string,
    evidence?: Record<string, unknown>,
    extra: Partial<typeof rolloutTargets.$inferInsert> = {},
  ) {
    const from = t.state;
    if (from === to && t.reason === reason && Object.keys(extra).length === 0) return;
    await this.tx
      .update(rolloutTargets)
      .set({ state: to, reason, evidence: evidence ?? null, updatedAt: this.now, ...extra })
      .where(eq(rolloutTargets.id, t.id));
    t.state = to;
    t.reason = reason;
    if (extra.generation !== undefined) t.generation = extra.generation;
    if (extra.startedAt !== undefined) t.startedAt = extra.startedAt;
    if (extra.healthyAt !== undefined) t.healthyAt = extra.healthyAt;
    if (extra.attempt !== undefined) t.attempt = extra.attempt;
    if (from === to) return; // a new reason for the same state (e.g. still deferred) is not a transition
    await recordTransition(this.tx, {
      orgId: this.rollout.orgId,
      rolloutId: this.rollout.id,
      subject: "target",
      waveIndex: t.waveIndex,
      applianceId: t.applianceId,
      fromState: from,
      toState: to,
      reason,
      evidence,
      actor: SCHEDULER_ACTOR,
      at: this.now,
    });
    this.transitions++;
  }
}

export async function recordTransition(
  tx: DbOrTx,
  t: Omit<typeof rolloutTransitions.$inferInsert, "id" | "evidence"> & { evidence?: Record<string, unknown> | null },
) {
  await tx
    .insert(rolloutTransitions)
    .values({ id: newId("event", t.at.getTime()), ...t, evidence: t.evidence ?? null });
}

/** Moves one target to a new state (its row and the transition row); `set` adds columns to the row's update. */
export async function transitionTarget(
  tx: DbOrTx,
  m: {
    orgId: string;
    rolloutId: string;
    target: { id: string; state: TargetState; waveIndex: number; applianceId: string };
    to: TargetState;
    reason: string;
    actor: string;
    at: Date;
    evidence?: Record<string, unknown>;
    set?: Partial<typeof rolloutTargets.$inferInsert>;
  },
) {
  await tx
    .update(rolloutTargets)
    .set({ state: m.to, reason: m.reason, updatedAt: m.at, ...m.set })
    .where(eq(rolloutTargets.id, m.target.id));
  await recordTransition(tx, {
    orgId: m.orgId,
    rolloutId: m.rolloutId,
    subject: "target",
    waveIndex: m.target.waveIndex,
    applianceId: m.target.applianceId,
    fromState: m.target.state,
    toState: m.to,
    reason: m.reason,
    evidence: m.evidence,
    actor: m.actor,
    at: m.at,
  });
}

/** Sets a rollout's state with a transition row and an audit row (same transaction). */
export async function setRolloutState(
  tx: DbOrTx,
  rollout: Pick<Rollout, "id" | "orgId" | "state">,
  to: Rollout["state"],
  reason: string,
  at: Date,
  actor: { orgId: string; name: string },
  opts: { evidence?: Record<string, unknown>; haltReason?: string | null; finished?: boolean; requestId?: string } = {},
) {
  await tx
    .update(rollouts)
    .set({
      state: to,
      updatedAt: at,
      ...(opts.haltReason !== undefined ? { haltReason: opts.haltReason } : {}),
      ...(opts.finished ? { finishedAt: at } : {}),
    })
    .where(eq(rollouts.id, rollout.id));
  await recordTransition(tx, {
    orgId: rollout.orgId,
    rolloutId: rollout.id,
    subject: "rollout",
    fromState: rollout.state,
    toState: to,
    reason,
    evidence: opts.evidence,
    actor: actor.name,
    at,
  });
  await writeAudit(tx, {
    actor,
    action: `rollout.${to}`,
    targetType: "rollout",
    targetId: rollout.id,
    summary: { from: rollout.state, to, reason, ...(opts.evidence ? { evidence: opts.evidence } : {}) },
    requestId: opts.requestId,
    at,
  });
}

async function setWaveState(ctx: TickContext, w: Wave, to: Wave["state"], reason: string, extra: Partial<Wave> = {}) {
  await ctx.tx
    .update(rolloutWaves)
    .set({ state: to, ...extra })
    .where(and(eq(rolloutWaves.rolloutId, w.rolloutId), eq(rolloutWaves.index, w.index)));
  await recordTransition(ctx.tx, {
    orgId: ctx.rollout.orgId,
    rolloutId: ctx.rollout.id,
    subject: "wave",
    waveIndex: w.index,
    fromState: w.state,
    toState: to,
    reason,
    actor: SCHEDULER_ACTOR,
    at: ctx.now,
  });
  w.state = to;
  Object.assign(w, extra);
  ctx.transitions++;
}

async function loadTargets(tx: DbOrTx, rolloutId: string, maxWave: number): Promise<Target[]> {
  return tx
    .select({
      id: rolloutTargets.id,
      applianceId: rolloutTargets.applianceId,
      waveIndex: rolloutTargets.waveIndex,
      state: rolloutTargets.state,
      reason: rolloutTargets.reason,
      attempt: rolloutTargets.attempt,
      generation: rolloutTargets.generation,
      startedAt: rolloutTargets.startedAt,
      healthyAt: rolloutTargets.healthyAt,
      previousRelease: rolloutTargets.previousRelease,
      online: appliances.online,
      applianceState: appliances.state,
      lastSeenAt: appliances.lastSeenAt,
      lastApply: appliances.lastApply,
      window: customers.maintenanceWindow,
      pinnedReleaseId: fleetAppliances.pinnedReleaseId,
      fleetReleaseId: fleetAppliances.releaseId,
      releaseSeq: fleetAppliances.releaseSeq,
      channel: fleetAppliances.channel,
    })
    .from(rolloutTargets)
    .innerJoin(appliances, eq(appliances.id, rolloutTargets.applianceId))
    .innerJoin(customers, eq(customers.id, appliances.customerId))
    .leftJoin(fleetAppliances, eq(fleetAppliances.applianceId, rolloutTargets.applianceId))
    .where(and(eq(rolloutTargets.rolloutId, rolloutId), lte(rolloutTargets.waveIndex, maxWave)))
    .orderBy(asc(rolloutTargets.waveIndex), asc(rolloutTargets.applianceId));
}

async function processRollout(tx: DbOrTx, deps: EngineDeps, rolloutId: string) {
  const [rollout] = await tx.select().from(rollouts).where(eq(rollouts.id, rolloutId)).for("update");
  if (!rollout || rollout.finishedAt) return { started: 0, transitions: 0 };
  const now = deps.clock.now();
  const ctx = new TickContext(tx, rollout, now);
  const strategy = strategySchema.parse(rollout.strategy);
  const [release] = await tx.select().from(releases).where(eq(releases.id, rollout.releaseId));
  if (!release) throw new Error(`release ${rollout.releaseId} of rollout ${rollout.id} is missing`);
  const waves = await tx
    .select()
    .from(rolloutWaves)
    .where(eq(rolloutWaves.rolloutId, rollout.id))
    .orderBy(asc(rolloutWaves.index));
  const opened = waves.filter((w) => w.state !== "pending");
  const maxOpen = opened.length ? opened[opened.length - 1]!.index : -1;
  // the next wave may open during this tick: load its targets too
  const targets = await loadTargets(tx, rollout.id, maxOpen + 1);

  // 1. observe: what did the appliances report?
  for (const t of targets) await observe(ctx, t, strategy.progressDeadlineSeconds, release);

  if (rollout.state === "rolling-back") {
    if (!targets.some((t) => t.state === "rolling-back")) {
      await setRolloutState(
        tx,
        rollout,
        "rolled-back",
        "every target returned to its previous release",
        now,
        {
          orgId: rollout.orgId,
          name: SCHEDULER_ACTOR,
        },
        { finished: true },
      );
    }
    return ctx;
  }
  if (rollout.state !== "running" && rollout.state !== "completed") return ctx; // paused, halted: observe only

  // 2. the failure budget, per opened wave (the canary's is 0)
  for (const w of waves.filter((x) => x.state !== "pending")) {
    const failed = targets.filter((t) => t.waveIndex === w.index && FAILED.includes(t.state));
    if (failed.length > w.failureBudget) {
      const haltReason = `wave ${w.index}${w.canary ? " (canary)" : ""}: ${failed.length} failed, budget ${w.failureBudget}`;
      const evidence = {
        wave: w.index,
        failed: failed.length,
        budget: w.failureBudget,
        targets: failed.slice(0, 20).map((t) => ({ applianceId: t.applianceId, state: t.state, reason: t.reason })),
      };
      if (w.state !== "completed") await setWaveState(ctx, w, "halted", haltReason);
      await setRolloutState(
        tx,
        rollout,
        "halted",
        haltReason,
        now,
        { orgId: rollout.orgId, name: SCHEDULER_ACTOR },
        {
          evidence,
          haltReason,
        },
      );
      await enqueueAlert(tx, {
        orgId: rollout.orgId,
        event: "rollout.halted",
        at: now,
        data: {
          rolloutId: rollout.id,
          rolloutName: rollout.name,
          releaseId: release.id,
          version: release.version,
          reason: haltReason,
          ...evidence,
        },
      });
      return ctx;
    }
  }

  // 3. waves: open the first, complete the current one when it holds, open the next
  if (rollout.state === "running") {
    let current = waves.find((w) => w.state === "running" || w.state === "soaking");
    if (!current && opened.length === 0 && waves[0]) {
      current = waves[0];
      await setWaveState(ctx, current, "running", "rollout started", { openedAt: now });
    }
    while (current) {
      const ws = targets.filter((t) => t.waveIndex === current!.index);
      if (ws.some((t) => UNSETTLED.includes(t.state))) break;
      const healthy = ws.filter((t) => t.state === "healthy");
      // the canary proves the release: it needs at least one healthy appliance, deferral alone does not count
      if (current.canary && healthy.length === 0) break;
      const lastHealthy = Math.max(0, ...healthy.map((t) => t.healthyAt?.getTime() ?? 0));
      const soakUntil = lastHealthy + strategy.soakSeconds * 1000;
      if (now.getTime() < soakUntil) {
        if (current.state !== "soaking") {
          await setWaveState(ctx, current, "soaking", `settled; soaking until ${new Date(soakUntil).toISOString()}`, {
            settledAt: now,
          });
        }
        break;
      }
      const deferred = ws.filter((t) => t.state === "deferred").length;
      await setWaveState(
        ctx,
        current,
        "completed",
        `held: ${healthy.length} healthy for ${strategy.soakSeconds} s, ${ws.length - healthy.length - deferred} failed or skipped, ${deferred} deferred`,
        { completedAt: now, settledAt: current.settledAt ?? now },
      );
      const next = waves.find((w) => w.index === current!.index + 1);
      if (!next) {
        await setRolloutState(tx, rollout, "completed", "every wave held", now, {
          orgId: rollout.orgId,
          name: SCHEDULER_ACTOR,
        });
        rollout.state = "completed";
        current = undefined;
        break;
      }
      await setWaveState(ctx, next, "running", `wave ${current.index} held`, { openedAt: now });
      current = next;
      break; // the new wave's targets start below; it cannot hold in the same tick
    }
  }

  // 4. start targets: the open wave's pending ones, and deferred ones of any opened wave (catch-up)
  const openIdx = new Set(waves.filter((w) => w.state !== "pending").map((w) => w.index));
  const candidates = targets.filter(
    (t) => openIdx.has(t.waveIndex) && (t.state === "pending" || t.state === "deferred"),
  );
  if (candidates.length > 0) {
    const applying = targets.filter((t) => t.state === "applying").length;
    const [recent] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(rolloutTargets)
      .where(
        and(eq(rolloutTargets.orgId, rollout.orgId), gt(rolloutTargets.startedAt, new Date(now.getTime() - 60_000))),
      );
    let slots = Math.min(strategy.concurrency - applying, strategy.startsPerMinute - (recent?.n ?? 0));
    const requiredBetween = await requiredReleasesBefore(tx, release);
    for (const t of candidates) {
      const why = await blockedReason(ctx, t, release, requiredBetween);
      if (why) continue;
      if (slots <= 0) {
        if (t.state === "pending" && t.reason !== "waiting for a start slot") {
          await ctx.moveTarget(t, "pending", "waiting for a start slot", {
            concurrency: strategy.concurrency,
            startsPerMinute: strategy.startsPerMinute,
          });
        }
        continue;
      }
      await startTarget(ctx, deps, t, release);
      slots--;
    }
  }

  // 5. a completed rollout is finished once nothing is left to catch up
  if (rollout.state === "completed") {
    const [left] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(rolloutTargets)
      .where(
        and(
          eq(rolloutTargets.rolloutId, rollout.id),
          inArray(rolloutTargets.state, ["pending", "applying", "deferred"]),
        ),
      );
    if ((left?.n ?? 0) === 0)
      await tx.update(rollouts).set({ finishedAt: now, updatedAt: now }).where(eq(rollouts.id, rollout.id));
  }
  return ctx;
}

async function observe(ctx: TickContext, t: Target, deadlineSeconds: number, release: Release) {
  const la = t.lastApply;
  const reported = la && t.generation !== null && la.generation >= t.generation ? la : null;
  const evidenceOf = () => ({
    generation: reported?.generation,
    outcome: reported?.outcome,
    message: reported?.message,
    revision: reported?.revision,
    chartVersion: reported?.chartVersion,
    ...(reported?.evidence ?? {}),
  });
  if (t.state === "applying" || (t.state === "deferred" && t.generation !== null && reported)) {
    if (reported && reported.generation > t.generation!) {
      await ctx.moveTarget(
        t,
        "superseded",
        `the appliance's desired state moved on to generation ${reported.generation}`,
        evidenceOf(),
        {
          finishedAt: ctx.now,
        },
      );
    } else if (reported && reported.outcome === "healthy") {
      await ctx.moveTarget(t, "healthy", `reported generation ${reported.generation} healthy`, evidenceOf(), {
        healthyAt: ctx.now,
      });
      await ctx.tx
        .update(fleetAppliances)
        .set({
          releaseId: release.id,
          chartVersion: release.version,
          versionKey: release.versionKey,
          releaseSeq: release.seq,
        })
        .where(eq(fleetAppliances.applianceId, t.applianceId));
    } else if (reported) {
      await ctx.moveTarget(t, "failed", `apply ${reported.outcome}: ${reported.message}`.slice(0, 1000), evidenceOf(), {
        finishedAt: ctx.now,
      });
      await enqueueAlert(ctx.tx, {
        orgId: ctx.rollout.orgId,
        event: "upgrade.failed",
        at: ctx.now,
        data: {
          applianceId: t.applianceId,
          rolloutId: ctx.rollout.id,
          releaseId: release.id,
          version: release.version,
          ...evidenceOf(),
        },
      });
    } else if (t.state === "applying" && !t.online) {
      await ctx.moveTarget(t, "deferred", "appliance went offline while applying; continues when it returns", {
        lastSeenAt: t.lastSeenAt?.toISOString() ?? null,
      });
    } else if (
      t.state === "applying" &&
      t.startedAt &&
      ctx.now.getTime() - t.startedAt.getTime() > deadlineSeconds * 1000
    ) {
      const evidence = { expectedGeneration: t.generation, lastApply: la ?? null, deadlineSeconds };
      await ctx.moveTarget(
        t,
        "timed-out",
        `no healthy report within the progress deadline of ${deadlineSeconds} s`,
        evidence,
        {
          finishedAt: ctx.now,
        },
      );
      await enqueueAlert(ctx.tx, {
        orgId: ctx.rollout.orgId,
        event: "upgrade.failed",
        at: ctx.now,
        data: {
          applianceId: t.applianceId,
          rolloutId: ctx.rollout.id,
          releaseId: release.id,
          version: release.version,
          timedOut: true,
        },
      });
    }
  } else if (
    t.state === "healthy" &&
    reported &&
    reported.generation === t.generation &&
    reported.outcome !== "healthy"
  ) {
    await ctx.moveTarget(
      t,
      "failed",
      `regressed after it was healthy: ${reported.message}`.slice(0, 1000),
      evidenceOf(),
      {
        finishedAt: ctx.now,
      },
    );
  } else if (t.state === "rolling-back" && reported) {
    if (reported.outcome === "healthy") {
      await ctx.moveTarget(t, "rolled-back", "returned to its previous release", evidenceOf(), { finishedAt: ctx.now });
      const prev = t.previousRelease;
      if (prev) {
        const [pr] = await ctx.tx.select().from(releases).where(eq(releases.id, prev.id));
        await ctx.tx
          .update(fleetAppliances)
          .set({
            releaseId: prev.id,
            chartVersion: prev.chartVersion,
            versionKey: pr?.versionKey ?? null,
            releaseSeq: pr?.seq ?? null,
          })
          .where(eq(fleetAppliances.applianceId, t.applianceId));
      }
    } else {
      await ctx.moveTarget(
        t,
        "failed",
        `roll back ${reported.outcome}: ${reported.message}`.slice(0, 1000),
        evidenceOf(),
        {
          finishedAt: ctx.now,
        },
      );
    }
  }
}

/** Required releases of the channel newer than nothing-in-particular and older than `release` (seq order). */
async function requiredReleasesBefore(tx: DbOrTx, release: Release) {
  return tx
    .select({ id: releases.id, version: releases.version, seq: releases.seq })
    .from(releases)
    .where(
      and(
        eq(releases.orgId, release.orgId),
        eq(releases.channel, release.channel),
        eq(releases.required, true),
        eq(releases.state, "published"),
        sql`${releases.seq} < ${release.seq}`,
      ),
    );
}

/** Why a candidate cannot start now (after recording it), or null when it may start. */
async function blockedReason(
  ctx: TickContext,
  t: Target,
  release: Release,
  required: Array<{ id: string; version: string; seq: number }>,
): Promise<string | null> {
  if (t.applianceState === "disabled") {
    await ctx.moveTarget(t, "skipped", "appliance is disabled", undefined, { finishedAt: ctx.now });
    return "disabled";
  }
  if (t.pinnedReleaseId && t.pinnedReleaseId !== release.id) {
    await ctx.moveTarget(
      t,
      "skipped",
      `pinned to ${t.pinnedReleaseId}`,
      { pinnedReleaseId: t.pinnedReleaseId },
      {
        finishedAt: ctx.now,
      },
    );
    return "pinned";
  }
  if (t.fleetReleaseId === release.id && t.generation === null) {
    await ctx.moveTarget(t, "healthy", "already runs this release", undefined, { healthyAt: ctx.now });
    return "already";
  }
  // a required release cannot be skipped: the appliance must have passed through it
  const missing = required.find((r) => t.releaseSeq === null || t.releaseSeq < r.seq);
  if (missing && t.releaseSeq !== null) {
    await ctx.moveTarget(
      t,
      "skipped",
      `required release ${missing.version} must be installed first`,
      {
        requiredReleaseId: missing.id,
      },
      { finishedAt: ctx.now },
    );
    return "required";
  }
  if (!t.online) {
    await ctx.moveTarget(t, "deferred", "offline; starts when it reconnects", {
      lastSeenAt: t.lastSeenAt?.toISOString() ?? null,
    });
    return "offline";
  }
  const win = checkWindow(t.window, ctx.now);
  if (!win.open) {
    const reason = win.nextOpensAt
      ? `outside the customer's maintenance window; next opens at ${win.nextOpensAt.toISOString()}`
      : "outside the customer's maintenance window (the window cannot be read)";
    await ctx.moveTarget(t, "deferred", reason, { window: t.window ?? null });
    return "window";
  }
  return null;
}

async function startTarget(ctx: TickContext, deps: EngineDeps, t: Target, release: Release) {
  const current = await getDesiredState(ctx.tx, t.applianceId);
  // a target deferred mid-apply whose desired state is still ours resumes without a new generation; anything
  // else (a first start, a retry of a failed apply) writes a new generation, so the agent applies again
  if (
    t.state === "deferred" &&
    t.generation !== null &&
    current &&
    current.state.generation === t.generation &&
    current.state.release?.id === release.id
  ) {
    await ctx.moveTarget(t, "applying", "reconnected; waiting for the apply result", undefined, { startedAt: ctx.now });
    ctx.started++;
    return;
  }
  const state = await setDesiredState(ctx.tx, {
    orgId: ctx.rollout.orgId,
    applianceId: t.applianceId,
    release: releasePayload(deps.publicUrl, release),
    values: current?.state.values ?? {},
    valuesDigest: current?.state.valuesDigest ?? EMPTY_VALUES_DIGEST,
    updatedBy: `rollout:${ctx.rollout.id}`,
  });
  const first = t.startedAt === null;
  await ctx.moveTarget(
    t,
    "applying",
    t.attempt > 0 ? `retry ${t.attempt}: desired state set` : "desired state set",
    { generation: state.generation, releaseId: release.id },
    {
      generation: state.generation,
      startedAt: ctx.now,
      attempt: t.attempt + 1,
      ...(first ? { previousRelease: current?.state.release ?? null } : {}),
    },
  );
  ctx.started++;
}
