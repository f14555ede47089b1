// Rollout verbs: preview (the wave plan), create (plan, persist, supersede older rollouts of the same
// appliances), list, get, and the operator actions pause, resume, abort, retry failed and roll back.
// The scheduler (rollouts/engine.ts) moves rollouts forward; every verb here locks the rollout row first.
import { and, asc, desc, eq, inArray, isNull, lt, ne, sql } from "drizzle-orm";
import { newId } from "../../../shared/src/ids.ts";
import type { DbOrTx } from "../db/client.ts";
import {
  appliances,
  customers,
  fleetAppliances,
  licenses,
  type RolloutTargetSelector,
  releases,
  rollouts,
  rolloutTargets,
  rolloutTransitions,
  rolloutWaves,
  type TargetState,
} from "../db/schema/index.ts";
import { writeAudit } from "../lib/audit.ts";
import type { ServiceContext } from "../lib/context.ts";
import { AppError, notFound } from "../lib/errors.ts";
import { decodeCursor, encodeCursor } from "../lib/pagination.ts";
import { assertRole } from "../lib/scope.ts";
import { EMPTY_VALUES_DIGEST, recordTransition, setRolloutState, transitionTarget } from "../rollouts/engine.ts";
import { failureBudgetFor, type PlannedWave, planWaves, type StrategyInput, strategySchema } from "../rollouts/plan.ts";
import { getDesiredState, setDesiredState } from "../tunnel/desired-state.ts";

export interface RolloutInput {
  releaseId: string;
  target: RolloutTargetSelector;
  strategy: StrategyInput;
}

export interface Excluded {
  applianceId: string;
  applianceName: string;
  reason: string;
}

/** Appliances a selector names (every given criterion must hold), with why some of them are left out. */
async function selectTargets(
  db: DbOrTx,
  orgId: string,
  release: typeof releases.$inferSelect,
  sel: RolloutTargetSelector,
) {
  const channelExpr = sql<string>`coalesce(${licenses.entitlements}->>'updateChannel', 'stable')`;
  const rows = await db
    .select({
      id: appliances.id,
      name: appliances.name,
      online: appliances.online,
      state: appliances.state,
      channel: channelExpr,
      pinnedReleaseId: fleetAppliances.pinnedReleaseId,
    })
    .from(appliances)
    .innerJoin(licenses, eq(licenses.id, appliances.licenseId))
    .innerJoin(customers, eq(customers.id, appliances.customerId))
    .leftJoin(fleetAppliances, eq(fleetAppliances.applianceId, appliances.id))
    .where(
      and(
        eq(appliances.orgId, orgId),
        sel.channel ? sql`${channelExpr} = ${sel.channel}` : undefined,
        sel.tags?.length
          ? sql`${customers.tags} ?| array[${sql.join(
              sel.tags.map((t) => sql`${t}`),
              sql`, `,
            )}]::text[]`
          : undefined,
        sel.customerIds?.length ? inArray(appliances.customerId, sel.customerIds) : undefined,
        sel.applianceIds?.length ? inArray(appliances.id, sel.applianceIds) : undefined,
      ),
    )
    .orderBy(asc(appliances.id));
  const included: Array<{ applianceId: string; online: boolean }> = [];
  const excluded: Excluded[] = [];
  for (const r of rows) {
    const why =
      r.state === "disabled"
        ? "appliance is disabled"
        : r.channel !== release.channel
          ? `its license follows the ${r.channel} channel, the release is on ${release.channel}`
          : r.pinnedReleaseId && r.pinnedReleaseId !== release.id
            ? `pinned to ${r.pinnedReleaseId}`
            : null;
    if (why) excluded.push({ applianceId: r.id, applianceName: r.name, reason: why });
    else included.push({ applianceId: r.id, online: r.online });
  }
  return { included, excluded };
}

async function loadPublishedRelease(db: DbOrTx, orgId: string, releaseId: string) {
  const [release] = await db
    .select()
    .from(releases)
    .where(and(eq(releases.id, releaseId), eq(releases.orgId, orgId)));
  if (!release)
    throw new AppError("UNPROCESSABLE", "releaseId: no such release", {
      issues: [{ field: "releaseId", message: "no such release" }],
    });
  if (release.state === "yanked")
    throw new AppError("CONFLICT", `release ${release.version} is yanked and cannot be rolled out`);
  return release;
}

function hasSelector(sel: RolloutTargetSelector) {
  return Boolean(sel.channel || sel.tags?.length || sel.customerIds?.length || sel.applianceIds?.length);
}

export async function previewRollout({ ctx, input }: { ctx: ServiceContext; input: RolloutInput }) {
  assertRole(ctx.actor, "viewer");
  const strategy = strategySchema.parse(input.strategy);
  const release = await loadPublishedRelease(ctx.deps.db, ctx.actor.orgId, input.releaseId);
  const sel = hasSelector(input.target) ? input.target : { channel: release.channel };
  const { included, excluded } = await selectTargets(ctx.deps.db, ctx.actor.orgId, release, sel);
  const waves = planWaves(included, strategy);
  return {
    total: included.length,
    waves: waves.map((w) => ({ ...w, failureBudget: failureBudgetFor(strategy, w.size, w.canary) })),
    excluded,
  };
}

export async function createRollout({ ctx, input }: { ctx: ServiceContext; input: RolloutInput & { name: string } }) {
  assertRole(ctx.actor, "operator");
  const strategy = strategySchema.parse(input.strategy);
  const now = ctx.deps.clock.now();
  const orgId = ctx.actor.orgId;
  return ctx.deps.db.transaction(async (tx) => {
    const release = await loadPublishedRelease(tx, orgId, input.releaseId);
    const sel = hasSelector(input.target) ? input.target : { channel: release.channel };
    const { included, excluded } = await selectTargets(tx, orgId, release, sel);
    if (included.length === 0) {
      throw new AppError("UNPROCESSABLE", "the target selects no appliance that can receive this release", {
        excluded,
      });
    }
    const waves: PlannedWave[] = planWaves(included, strategy);
    const id = newId("rollout", now.getTime());
    await tx.insert(rollouts).values({
      id,
      orgId,
      name: input.name,
      releaseId: release.id,
      state: "running",
      target: sel,
      strategy,
      createdBy: ctx.actor.name,
      createdAt: now,
      updatedAt: now,
    });
    await tx.insert(rolloutWaves).values(
      waves.map((w) => ({
        rolloutId: id,
        index: w.index,
        canary: w.canary ? 1 : 0,
        size: w.size,
        failureBudget: failureBudgetFor(strategy, w.size, w.canary),
      })),
    );
    const targetRows = waves.flatMap((w) =>
      w.applianceIds.map((applianceId) => ({
        id: newId("rolloutTarget", now.getTime()),
        rolloutId: id,
        orgId,
        applianceId,
        waveIndex: w.index,
        reason: "waiting for its wave",
        updatedAt: now,
      })),
    );
    for (let i = 0; i < targetRows.length; i += 1000)
      await tx.insert(rolloutTargets).values(targetRows.slice(i, i + 1000));
    await recordTransition(tx, {
      orgId,
      rolloutId: id,
      subject: "rollout",
      toState: "running",
      reason: `created by ${ctx.actor.name}: ${included.length} appliances in ${waves.length} waves`,
      evidence: { waves: waves.map((w) => w.size), excluded: excluded.slice(0, 100) },
      actor: ctx.actor.name,
      at: now,
    });
    const superseded = await supersedeOlder(tx, {
      orgId,
      rolloutId: id,
      applianceIds: included.map((t) => t.applianceId),
      now,
    });
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "rollout.created",
      targetType: "rollout",
      targetId: id,
      summary: {
        name: input.name,
        releaseId: release.id,
        version: release.version,
        targets: included.length,
        waves: waves.length,
        superseded,
      },
      requestId: ctx.requestId,
      at: now,
    });
    return { id, excluded, superseded };
  });
}

/** Targets of older unfinished rollouts for these appliances become superseded; a rollout left with nothing is superseded. */
async function supersedeOlder(
  tx: DbOrTx,
  { orgId, rolloutId, applianceIds, now }: { orgId: string; rolloutId: string; applianceIds: string[]; now: Date },
) {
  const open: TargetState[] = ["pending", "applying", "deferred", "healthy"];
  const touched = new Set<string>();
  for (let i = 0; i < applianceIds.length; i += 1000) {
    const rows = await tx
      .select({
        id: rolloutTargets.id,
        rolloutId: rolloutTargets.rolloutId,
        applianceId: rolloutTargets.applianceId,
        state: rolloutTargets.state,
        waveIndex: rolloutTargets.waveIndex,
      })
      .from(rolloutTargets)
      .innerJoin(rollouts, eq(rollouts.id, rolloutTargets.rolloutId))
      .where(
        and(
          eq(rolloutTargets.orgId, orgId),
          inArray(rolloutTargets.applianceId, applianceIds.slice(i, i + 1000)),
          ne(rolloutTargets.rolloutId, rolloutId),
          isNull(rollouts.finishedAt),
          inArray(rolloutTargets.state, open),
        ),
      );
    for (const r of rows) {
      // a healthy target of an unfinished rollout stays healthy; only work still to do moves to the newer rollout
      if (r.state === "healthy") continue;
      await transitionTarget(tx, {
        orgId,
        rolloutId: r.rolloutId,
        target: r,
        to: "superseded",
        reason: `superseded by ${rolloutId}`,
        actor: "system",
        at: now,
        set: { finishedAt: now },
      });
      touched.add(r.rolloutId);
    }
  }
  const supersededRollouts: string[] = [];
  for (const oldId of touched) {
    const [left] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(rolloutTargets)
      .where(
        and(eq(rolloutTargets.rolloutId, oldId), inArray(rolloutTargets.state, ["pending", "applying", "deferred"])),
      );
    if ((left?.n ?? 0) > 0) continue;
    const [old] = await tx.select().from(rollouts).where(eq(rollouts.id, oldId)).for("update");
    if (!old || old.finishedAt) continue;
    await tx.update(rollouts).set({ supersededBy: rolloutId }).where(eq(rollouts.id, oldId));
    await setRolloutState(
      tx,
      old,
      "superseded",
      `superseded by ${rolloutId}`,
      now,
      { orgId, name: "system" },
      { finished: true },
    );
    supersededRollouts.push(oldId);
  }
  return supersededRollouts;
}

const countKeys = {
  pending: "pending",
  applying: "applying",
  healthy: "healthy",
  failed: "failed",
  "timed-out": "timedOut",
  deferred: "deferred",
  "rolled-back": "rolledBack",
  "rolling-back": "rollingBack",
  superseded: "superseded",
  skipped: "skipped",
} as const satisfies Record<TargetState, string>;
type Counts = Record<(typeof countKeys)[TargetState], number>;
const emptyCounts = (): Counts => Object.fromEntries(Object.values(countKeys).map((k) => [k, 0])) as Counts;

export async function listRollouts({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { limit: number; cursor?: string; state?: string };
}) {
  assertRole(ctx.actor, "viewer");
  const cursor = decodeCursor(input.cursor);
  const rows = await ctx.deps.db
    .select({
      id: rollouts.id,
      name: rollouts.name,
      state: rollouts.state,
      haltReason: rollouts.haltReason,
      releaseId: rollouts.releaseId,
      version: releases.version,
      channel: releases.channel,
      createdAt: rollouts.createdAt,
      updatedAt: rollouts.updatedAt,
      finishedAt: rollouts.finishedAt,
      total: sql<number>`(select count(*)::int from ${rolloutTargets} t where t.rollout_id = ${rollouts.id})`,
      healthy: sql<number>`(select count(*)::int from ${rolloutTargets} t where t.rollout_id = ${rollouts.id} and t.state = 'healthy')`,
      failed: sql<number>`(select count(*)::int from ${rolloutTargets} t where t.rollout_id = ${rollouts.id} and t.state in ('failed','timed-out'))`,
    })
    .from(rollouts)
    .innerJoin(releases, eq(releases.id, rollouts.releaseId))
    .where(
      and(
        eq(rollouts.orgId, ctx.actor.orgId),
        cursor ? lt(rollouts.id, cursor) : undefined,
        input.state ? sql`${rollouts.state} = ${input.state}` : undefined,
      ),
    )
    .orderBy(desc(rollouts.id))
    .limit(input.limit + 1);
  const items = rows.slice(0, input.limit);
  return { items, nextCursor: rows.length > input.limit ? encodeCursor(items[items.length - 1]!.id) : null };
}

export async function getRollout({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  assertRole(ctx.actor, "viewer");
  const db = ctx.deps.db;
  const [r] = await db
    .select()
    .from(rollouts)
    .where(and(eq(rollouts.id, input.id), eq(rollouts.orgId, ctx.actor.orgId)));
  if (!r) throw notFound("rollout");
  const [release] = await db.select().from(releases).where(eq(releases.id, r.releaseId));
  const waves = await db
    .select()
    .from(rolloutWaves)
    .where(eq(rolloutWaves.rolloutId, r.id))
    .orderBy(asc(rolloutWaves.index));
  const targets = await db
    .select({
      applianceId: rolloutTargets.applianceId,
      applianceName: appliances.name,
      waveIndex: rolloutTargets.waveIndex,
      state: rolloutTargets.state,
      reason: rolloutTargets.reason,
      evidence: rolloutTargets.evidence,
      attempt: rolloutTargets.attempt,
      startedAt: rolloutTargets.startedAt,
      healthyAt: rolloutTargets.healthyAt,
      updatedAt: rolloutTargets.updatedAt,
    })
    .from(rolloutTargets)
    .innerJoin(appliances, eq(appliances.id, rolloutTargets.applianceId))
    .where(eq(rolloutTargets.rolloutId, r.id))
    .orderBy(asc(rolloutTargets.waveIndex), asc(rolloutTargets.applianceId));
  const transitions = await db
    .select()
    .from(rolloutTransitions)
    .where(eq(rolloutTransitions.rolloutId, r.id))
    .orderBy(desc(rolloutTransitions.id))
    .limit(500);
  const totals = emptyCounts();
  return {
    id: r.id,
    name: r.name,
    state: r.state,
    haltReason: r.haltReason,
    supersededBy: r.supersededBy,
    target: r.target,
    strategy: r.strategy,
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    finishedAt: r.finishedAt,
    release: release
      ? {
          id: release.id,
          version: release.version,
          channel: release.channel,
          state: release.state,
          chartDigest: release.chartDigest,
        }
      : null,
    waves: waves.map((w) => {
      const ts = targets.filter((t) => t.waveIndex === w.index);
      const counts = emptyCounts();
      for (const t of ts) {
        counts[countKeys[t.state]]++;
        totals[countKeys[t.state]]++;
      }
      return {
        index: w.index,
        canary: w.canary === 1,
        state: w.state,
        size: w.size,
        failureBudget: w.failureBudget,
        openedAt: w.openedAt,
        completedAt: w.completedAt,
        counts,
        targets: ts.map(({ waveIndex: _w, ...t }) => t),
      };
    }),
    counts: totals,
    transitions: transitions.map((t) => ({
      at: t.at,
      subject: t.subject,
      waveIndex: t.waveIndex,
      applianceId: t.applianceId,
      from: t.fromState,
      to: t.toState,
      reason: t.reason,
      evidence: t.evidence,
      actor: t.actor,
    })),
  };
}

type Action = "pause" | "resume" | "abort" | "retry" | "rollback";

async function lockRollout(tx: DbOrTx, orgId: string, id: string) {
  const [r] = await tx
    .select()
    .from(rollouts)
    .where(and(eq(rollouts.id, id), eq(rollouts.orgId, orgId)))
    .for("update");
  if (!r) throw notFound("rollout");
  return r;
}

export async function actOnRollout({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; action: Action; reason?: string };
}) {
  assertRole(ctx.actor, "operator");
  const now = ctx.deps.clock.now();
  const actor = ctx.actor;
  const why = (s: string) => (input.reason ? `${s}: ${input.reason}` : s);
  await ctx.deps.db.transaction(async (tx) => {
    const r = await lockRollout(tx, actor.orgId, input.id);
    const conflict = (msg: string) => new AppError("CONFLICT", `cannot ${input.action} a ${r.state} rollout: ${msg}`);
    const opts = { requestId: ctx.requestId };
    switch (input.action) {
      case "pause":
        if (r.state !== "running") throw conflict("only a running rollout pauses");
        await setRolloutState(tx, r, "paused", why(`paused by ${actor.name}`), now, actor, opts);
        break;
      case "resume": {
        if (r.state !== "paused" && r.state !== "halted") throw conflict("only a paused or halted rollout resumes");
        await reopenHaltedWave(tx, r, now, actor.name);
        await setRolloutState(tx, r, "running", why(`resumed by ${actor.name}`), now, actor, {
          ...opts,
          haltReason: null,
        });
        break;
      }
      case "abort": {
        if (r.finishedAt || r.state === "rolling-back") throw conflict("it is already finished or rolling back");
        await skipOpenTargets(tx, r, now, "rollout aborted", actor.name);
        await setRolloutState(tx, r, "aborted", why(`aborted by ${actor.name}`), now, actor, {
          ...opts,
          finished: true,
        });
        break;
      }
      case "retry": {
        if (r.finishedAt && r.state !== "completed") throw conflict("it is finished");
        if (r.state === "rolling-back") throw conflict("it is rolling back");
        const failed = await tx
          .select({
            id: rolloutTargets.id,
            applianceId: rolloutTargets.applianceId,
            state: rolloutTargets.state,
            waveIndex: rolloutTargets.waveIndex,
          })
          .from(rolloutTargets)
          .where(and(eq(rolloutTargets.rolloutId, r.id), inArray(rolloutTargets.state, ["failed", "timed-out"])));
        if (failed.length === 0) throw conflict("no failed target to retry");
        for (const t of failed) {
          // the row says "retry requested"; the transition names who asked
          await tx
            .update(rolloutTargets)
            // generation null: the retry sets a new desired-state generation, so the agent applies again instead of the
            // engine re-reading the failed result of the old one
            .set({
              state: "pending",
              reason: "retry requested",
              evidence: null,
              finishedAt: null,
              generation: null,
              updatedAt: now,
            })
            .where(eq(rolloutTargets.id, t.id));
          await recordTransition(tx, {
            orgId: r.orgId,
            rolloutId: r.id,
            subject: "target",
            waveIndex: t.waveIndex,
            applianceId: t.applianceId,
            fromState: t.state,
            toState: "pending",
            reason: `retry requested by ${actor.name}`,
            actor: actor.name,
            at: now,
          });
        }
        await tx.update(rollouts).set({ finishedAt: null }).where(eq(rollouts.id, r.id));
        if (r.state === "halted") {
          await reopenHaltedWave(tx, r, now, actor.name);
          await setRolloutState(
            tx,
            r,
            "running",
            why(`${failed.length} failed targets retried by ${actor.name}`),
            now,
            actor,
            {
              ...opts,
              haltReason: null,
            },
          );
        } else {
          await writeAudit(tx, {
            actor,
            action: "rollout.retried",
            targetType: "rollout",
            targetId: r.id,
            summary: { targets: failed.length },
            requestId: ctx.requestId,
            at: now,
          });
        }
        break;
      }
      case "rollback": {
        if (r.state === "rolling-back" || r.state === "rolled-back") throw conflict("it is already rolled back");
        if (r.state === "superseded") throw conflict("a newer rollout owns these appliances");
        const moved = await rollBackTargets(tx, r, now, actor.name);
        await setRolloutState(
          tx,
          r,
          "rolling-back",
          why(`roll back requested by ${actor.name}: ${moved} appliances return to their previous release`),
          now,
          actor,
          {
            ...opts,
            haltReason: null,
          },
        );
        await tx.update(rollouts).set({ finishedAt: null }).where(eq(rollouts.id, r.id));
        break;
      }
    }
  });
  return getRollout({ ctx, input: { id: input.id } });
}

async function reopenHaltedWave(tx: DbOrTx, r: typeof rollouts.$inferSelect, now: Date, actor: string) {
  const halted = await tx
    .select()
    .from(rolloutWaves)
    .where(and(eq(rolloutWaves.rolloutId, r.id), eq(rolloutWaves.state, "halted")));
  for (const w of halted) {
    await tx
      .update(rolloutWaves)
      .set({ state: "running" })
      .where(and(eq(rolloutWaves.rolloutId, r.id), eq(rolloutWaves.index, w.index)));
    await recordTransition(tx, {
      orgId: r.orgId,
      rolloutId: r.id,
      subject: "wave",
      waveIndex: w.index,
      fromState: "halted",
      toState: "running",
      reason: `reopened by ${actor}`,
      actor,
      at: now,
    });
  }
}

async function skipOpenTargets(tx: DbOrTx, r: typeof rollouts.$inferSelect, now: Date, reason: string, actor: string) {
  const open = await tx
    .select({
      id: rolloutTargets.id,
      applianceId: rolloutTargets.applianceId,
      state: rolloutTargets.state,
      waveIndex: rolloutTargets.waveIndex,
    })
    .from(rolloutTargets)
    .where(and(eq(rolloutTargets.rolloutId, r.id), inArray(rolloutTargets.state, ["pending", "deferred"])));
  if (open.length === 0) return;
  await tx
    .update(rolloutTargets)
    .set({ state: "skipped", reason, updatedAt: now, finishedAt: now })
    .where(
      inArray(
        rolloutTargets.id,
        open.map((t) => t.id),
      ),
    );
  for (const t of open) {
    await recordTransition(tx, {
      orgId: r.orgId,
      rolloutId: r.id,
      subject: "target",
      waveIndex: t.waveIndex,
      applianceId: t.applianceId,
      fromState: t.state,
      toState: "skipped",
      reason,
      actor,
      at: now,
    });
  }
}

/** Every target we changed goes back to the release it had before (new generation); the rest are skipped. */
async function rollBackTargets(tx: DbOrTx, r: typeof rollouts.$inferSelect, now: Date, actor: string) {
  const targets = await tx
    .select()
    .from(rolloutTargets)
    .where(and(eq(rolloutTargets.rolloutId, r.id), ne(rolloutTargets.state, "superseded")));
  let moved = 0;
  for (const t of targets) {
    const changed = t.startedAt !== null && t.state !== "skipped" && t.state !== "rolled-back";
    if (!changed) {
      if (t.state === "pending" || t.state === "deferred") {
        await transitionTarget(tx, {
          orgId: r.orgId,
          rolloutId: r.id,
          target: t,
          to: "skipped",
          reason: "rollout rolled back before it started",
          actor,
          at: now,
          set: { finishedAt: now },
        });
      }
      continue;
    }
    const des = (await getDesiredState(tx, t.applianceId))?.state;
    const prev = t.previousRelease ?? null;
    if (!prev) {
      await transitionTarget(tx, {
        orgId: r.orgId,
        rolloutId: r.id,
        target: t,
        to: "skipped",
        reason: "no previous release to return to",
        actor,
        at: now,
        set: { finishedAt: now },
      });
      continue;
    }
    // chart URLs are stored with the previous desired state, so the agent fetches exactly what it had
    const state = await setDesiredState(tx, {
      orgId: r.orgId,
      applianceId: t.applianceId,
      release: prev,
      values: des?.values ?? {},
      valuesDigest: des?.valuesDigest ?? EMPTY_VALUES_DIGEST,
      updatedBy: `rollout:${r.id}:rollback`,
    });
    await transitionTarget(tx, {
      orgId: r.orgId,
      rolloutId: r.id,
      target: t,
      to: "rolling-back",
      reason: `returning to ${prev.chartVersion}`,
      evidence: { generation: state.generation, releaseId: prev.id },
      actor,
      at: now,
      set: { generation: state.generation, startedAt: now, healthyAt: null, finishedAt: null },
    });
    moved++;
  }
  return moved;
}
