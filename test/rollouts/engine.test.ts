// The rollout engine against the real tables on every test database: waves, soak, budget halt, deferral of
// offline appliances and their catch-up, deadlines, start rate, maintenance windows, pins, supersession,
// pause/resume, retry and roll back. Agents' reports are written the way the tunnel writes them.
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../cloud/src/db/client.ts";
import {
  auditLog,
  customers,
  fleetAppliances,
  rolloutTargets,
  webhookDeliveries,
  webhooks,
} from "../../cloud/src/db/schema/index.ts";
import { ManualClock } from "../../cloud/src/lib/clock.ts";
import { runSchedulerTick } from "../../cloud/src/rollouts/engine.ts";
import { syncFleetAppliances } from "../../cloud/src/services/fleet.ts";
import { publishRelease } from "../../cloud/src/services/releases.ts";
import { actOnRollout, createRollout, getRollout } from "../../cloud/src/services/rollouts.ts";
import { type TestDatabase, testDbKinds } from "../support/db.ts";
import { desiredOf, fakeChart, reportApply, seedFleet, serviceContext, setOnline } from "./fixtures.ts";

const publicUrl = "http://cloud.test";

describe.each(testDbKinds)("rollout engine ($name)", (kind) => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await kind.open();
    db = database.db;
  });
  afterAll(() => database.close());

  async function setup(n: number, opts: { online?: boolean; customers?: number } = {}) {
    const clock = new ManualClock(new Date("2026-03-02T10:00:00Z"));
    const fleet = await seedFleet(db, { n, now: clock.now(), ...opts });
    const ctx = serviceContext(db, clock, fleet.orgId);
    await syncFleetAppliances(db, clock.now());
    const base = await publishRelease({
      ctx,
      input: { version: "1.0.0", channel: "stable", chartBase64: fakeChart("1.0.0") },
    });
    const next = await publishRelease({
      ctx,
      input: { version: "1.1.0", channel: "stable", chartBase64: fakeChart("1.1.0") },
    });
    const tick = () => runSchedulerTick({ db, clock, publicUrl });
    return { clock, fleet, ctx, base, next, tick };
  }

  async function targets(rolloutId: string) {
    return db.select().from(rolloutTargets).where(eq(rolloutTargets.rolloutId, rolloutId));
  }

  /** Answers every applying target: healthy unless `fail` says otherwise. */
  async function answer(rolloutId: string, clock: ManualClock, fail: (applianceId: string) => boolean = () => false) {
    for (const t of await targets(rolloutId)) {
      if (t.state !== "applying" && t.state !== "rolling-back") continue;
      await reportApply(db, t.applianceId, fail(t.applianceId) ? "failed" : "healthy", clock.now());
    }
  }

  it("advances canary then waves, soaking each from our own timestamps, and completes", async () => {
    const { clock, fleet, ctx, next, tick } = await setup(20);
    const { id } = await createRollout({
      ctx,
      input: {
        name: "1.1.0 to everyone",
        releaseId: next.id,
        target: { channel: "stable" },
        strategy: {
          canarySize: 1,
          wavePercent: 25,
          concurrency: 3,
          failureBudget: 1,
          soakSeconds: 60,
          startsPerMinute: 100,
        },
      },
    });
    let r = await getRollout({ ctx, input: { id } });
    expect(r.waves.map((w) => w.size)).toEqual([1, 5, 5, 5, 4]);

    await tick(); // opens the canary, starts its one target
    r = await getRollout({ ctx, input: { id } });
    expect(r.waves[0]!.counts.applying).toBe(1);
    const canaryId = r.waves[0]!.targets[0]!.applianceId;
    const desired = await desiredOf(db, canaryId);
    expect(desired?.release).toMatchObject({
      id: next.id,
      chartVersion: "1.1.0",
      chartUrl: `${publicUrl}/v1/agent/releases/${next.id}/chart`,
    });

    await answer(id, clock);
    await tick();
    r = await getRollout({ ctx, input: { id } });
    expect(r.waves[0]!.state).toBe("soaking");
    expect(r.waves[1]!.state).toBe("pending"); // the soak holds the next wave
    clock.advance(59_000);
    await tick();
    expect((await getRollout({ ctx, input: { id } })).waves[1]!.state).toBe("pending");
    clock.advance(1_000);
    await tick();
    r = await getRollout({ ctx, input: { id } });
    expect(r.waves[0]!.state).toBe("completed");
    expect(r.waves[1]!.state).toBe("running");
    expect(r.waves[1]!.counts.applying).toBe(3); // concurrency 3

    for (let i = 0; i < 60 && r.state === "running"; i++) {
      await answer(id, clock);
      clock.advance(15_000);
      await tick();
      r = await getRollout({ ctx, input: { id } });
    }
    expect(r.state).toBe("completed");
    expect(r.counts.healthy).toBe(20);
    expect(r.finishedAt).not.toBeNull();
    // waves completed strictly in order
    const waveDone = r.transitions
      .filter((t) => t.subject === "wave" && t.to === "completed")
      .map((t) => t.waveIndex)
      .reverse();
    expect(waveDone).toEqual([0, 1, 2, 3, 4]);
    const audit = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.orgId, fleet.orgId), eq(auditLog.targetId, id)));
    expect(audit.map((a) => a.action).sort()).toEqual(["rollout.completed", "rollout.created"]);
    // the fleet projection knows what runs now
    const [fa] = await db.select().from(fleetAppliances).where(eq(fleetAppliances.applianceId, canaryId));
    expect(fa?.releaseId).toBe(next.id);
  });

  it("halts when a failing cohort crosses the wave's budget, with evidence and an alert; retry resumes", async () => {
    const { clock, fleet, ctx, next, tick } = await setup(30);
    await db.insert(webhooks).values({
      id: "whk_01J0000000000000000000000A".replace("A", String(Math.floor(Math.random() * 9))),
      orgId: fleet.orgId,
      url: "http://127.0.0.1:9/hook",
      events: ["rollout.halted", "upgrade.failed"],
      sealedSecret: "x",
      createdBy: "test",
      createdAt: clock.now(),
    });
    const { id } = await createRollout({
      ctx,
      input: {
        name: "bad release",
        releaseId: next.id,
        target: {},
        strategy: {
          canarySize: 1,
          wavePercent: 50,
          concurrency: 4,
          failureBudget: 2,
          soakSeconds: 0,
          progressDeadlineSeconds: 600,
        },
      },
    });
    const failing = new Set(fleet.applianceIds.slice(0, 25)); // nearly everyone fails except the canary
    let r = await getRollout({ ctx, input: { id } });
    const canary = r.waves[0]!.targets[0]!.applianceId;
    failing.delete(canary);
    for (let i = 0; i < 40 && r.state === "running"; i++) {
      await tick();
      await answer(id, clock, (a) => failing.has(a));
      clock.advance(5_000);
      r = await getRollout({ ctx, input: { id } });
    }
    expect(r.state).toBe("halted");
    expect(r.haltReason).toMatch(/wave 1: \d+ failed, budget 2/);
    const failed = r.counts.failed;
    // halted within its budget: never more failures than budget + 1 (concurrency bounds what was in flight)
    expect(failed).toBeGreaterThanOrEqual(3);
    expect(failed).toBeLessThanOrEqual(2 + 4);
    const halt = r.transitions.find((t) => t.subject === "rollout" && t.to === "halted");
    expect(halt?.evidence).toMatchObject({ wave: 1, budget: 2 });
    const failedTarget = r.waves[1]!.targets.find((t) => t.state === "failed");
    expect(failedTarget?.reason).toMatch(/helm upgrade failed/);
    expect(failedTarget?.evidence).toMatchObject({ helmError: expect.stringMatching(/context deadline/) });
    // no more starts while halted
    const before = (await targets(id)).filter((t) => t.startedAt).length;
    await answer(id, clock, (a) => failing.has(a));
    clock.advance(60_000);
    await tick();
    expect((await targets(id)).filter((t) => t.startedAt).length).toBe(before);
    const events = (await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.orgId, fleet.orgId))).map(
      (d) => d.event,
    );
    expect(events).toContain("rollout.halted");
    expect(events).toContain("upgrade.failed");

    // the operator fixes the cause and retries the failed targets: the rollout runs again
    failing.clear();
    const failedBefore = new Map(
      (await targets(id)).filter((t) => t.state === "failed").map((t) => [t.applianceId, t.generation ?? 0]),
    );
    r = await actOnRollout({ ctx, input: { id, action: "retry" } });
    expect(r.state).toBe("running");
    for (let i = 0; i < 60 && r.state === "running"; i++) {
      await tick();
      await answer(id, clock);
      clock.advance(5_000);
      r = await getRollout({ ctx, input: { id } });
    }
    expect(r.state).toBe("completed");
    expect(r.counts.healthy).toBe(30);
    // a retry asks the agent to apply again: a new desired-state generation, never the failed one re-read
    for (const t of await targets(id)) {
      const before = failedBefore.get(t.applianceId);
      if (before !== undefined) expect(t.generation ?? 0).toBeGreaterThan(before);
    }
  });

  it("defers offline appliances without counting them as failures, and catches them up when they return", async () => {
    const { clock, fleet, ctx, next, tick } = await setup(12);
    const offline = fleet.applianceIds.slice(3, 7);
    await setOnline(db, offline, false, clock.now());
    const { id } = await createRollout({
      ctx,
      input: {
        name: "with offline",
        releaseId: next.id,
        target: { customerIds: fleet.customerIds },
        strategy: { canarySize: 1, wavePercent: 50, concurrency: 10, failureBudget: 0, soakSeconds: 10 },
      },
    });
    let r = await getRollout({ ctx, input: { id } });
    expect(offline).not.toContain(r.waves[0]!.targets[0]!.applianceId); // the canary is an online appliance
    for (let i = 0; i < 30 && r.state === "running"; i++) {
      await tick();
      await answer(id, clock);
      clock.advance(5_000);
      r = await getRollout({ ctx, input: { id } });
    }
    expect(r.state).toBe("completed");
    expect(r.counts).toMatchObject({ healthy: 8, deferred: 4, failed: 0 });
    expect(r.finishedAt).toBeNull(); // still catching up
    const deferred = r.waves.flatMap((w) => w.targets).filter((t) => t.state === "deferred");
    expect(deferred[0]!.reason).toMatch(/offline/);

    await setOnline(db, offline, true, clock.now());
    await tick();
    r = await getRollout({ ctx, input: { id } });
    expect(r.counts.applying).toBe(4);
    await answer(id, clock);
    await tick();
    r = await getRollout({ ctx, input: { id } });
    expect(r.counts.healthy).toBe(12);
    expect(r.finishedAt).not.toBeNull();
  });

  it("times out a target past its progress deadline and halts the canary (no failure tolerated)", async () => {
    const { clock, ctx, next, tick } = await setup(5);
    const { id } = await createRollout({
      ctx,
      input: {
        name: "slow",
        releaseId: next.id,
        target: {},
        strategy: { canarySize: 1, progressDeadlineSeconds: 60, soakSeconds: 0 },
      },
    });
    await tick();
    clock.advance(61_000);
    await tick();
    const r = await getRollout({ ctx, input: { id } });
    expect(r.waves[0]!.targets[0]!.state).toBe("timed-out");
    expect(r.state).toBe("halted");
    expect(r.haltReason).toMatch(/wave 0 \(canary\): 1 failed, budget 0/);
  });

  it("limits the fleet-wide start rate and respects maintenance windows", async () => {
    const { clock, fleet, ctx, next, tick } = await setup(10, { customers: 2 });
    // customer 1 only accepts changes on Saturdays 02:00-04:00 UTC; now is a Monday
    await db
      .update(customers)
      .set({ maintenanceWindow: { cron: "0 2 * * 6", timeZone: "UTC", durationMinutes: 120 } })
      .where(eq(customers.id, fleet.customerIds[1]!));
    const { id } = await createRollout({
      ctx,
      input: {
        name: "rated",
        releaseId: next.id,
        target: {},
        strategy: { canarySize: 0, wavePercent: 100, concurrency: 10, startsPerMinute: 2, soakSeconds: 0 },
      },
    });
    await tick();
    let r = await getRollout({ ctx, input: { id } });
    expect(r.counts.applying).toBe(2);
    const windowed = r.waves[0]!.targets.filter((t) => t.state === "deferred");
    expect(windowed.length).toBeGreaterThan(0);
    expect(windowed[0]!.reason).toMatch(/maintenance window; next opens at 2026-03-07T02:00:00.000Z/);
    await tick();
    expect((await getRollout({ ctx, input: { id } })).counts.applying).toBe(2); // same minute: no more starts
    clock.advance(61_000);
    await tick();
    r = await getRollout({ ctx, input: { id } });
    expect(r.counts.applying).toBe(4);
  });

  it("pauses and resumes; rolls back each target to its previous release", async () => {
    const { clock, fleet, ctx, base, next, tick } = await setup(6);
    // everyone runs 1.0.0 first
    const first = await createRollout({
      ctx,
      input: {
        name: "base",
        releaseId: base.id,
        target: {},
        strategy: { canarySize: 0, wavePercent: 100, concurrency: 10, soakSeconds: 0 },
      },
    });
    for (let i = 0; i < 5; i++) {
      await tick();
      await answer(first.id, clock);
      clock.advance(61_000);
    }
    expect((await getRollout({ ctx, input: { id: first.id } })).state).toBe("completed");

    const { id } = await createRollout({
      ctx,
      input: {
        name: "upgrade",
        releaseId: next.id,
        target: {},
        strategy: { canarySize: 1, wavePercent: 50, concurrency: 10, soakSeconds: 0 },
      },
    });
    await tick();
    let r = await actOnRollout({ ctx, input: { id, action: "pause", reason: "lunch" } });
    expect(r.state).toBe("paused");
    await answer(id, clock);
    clock.advance(61_000);
    await tick();
    r = await getRollout({ ctx, input: { id } });
    expect(r.counts.healthy).toBe(1); // observed while paused
    expect(r.waves[1]!.state).toBe("pending"); // but nothing opened
    await expect(actOnRollout({ ctx, input: { id, action: "pause" } })).rejects.toMatchObject({ code: "CONFLICT" });
    r = await actOnRollout({ ctx, input: { id, action: "resume" } });
    expect(r.state).toBe("running");
    await tick();
    await answer(id, clock);
    await tick();
    r = await getRollout({ ctx, input: { id } });
    const moved = r.waves.flatMap((w) => w.targets).filter((t) => t.startedAt !== null).length;
    expect(r.counts.healthy).toBeGreaterThan(1);

    r = await actOnRollout({ ctx, input: { id, action: "rollback", reason: "customer complaint" } });
    expect(r.state).toBe("rolling-back");
    for (const t of r.waves.flatMap((w) => w.targets).filter((x) => x.state === "rolling-back")) {
      expect((await desiredOf(db, t.applianceId))?.release?.id).toBe(base.id);
    }
    await answer(id, clock);
    await tick();
    r = await getRollout({ ctx, input: { id } });
    expect(r.state).toBe("rolled-back");
    expect(r.counts.rolledBack).toBe(moved);
    const audit = await db.select().from(auditLog).where(eq(auditLog.targetId, id));
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(["rollout.paused", "rollout.running", "rollout.rolling-back", "rollout.rolled-back"]),
    );
    expect(fleet.applianceIds.length).toBe(6);
  });

  it("skips pinned appliances visibly, and a newer rollout supersedes an older one", async () => {
    const { clock, fleet, ctx, base, next, tick } = await setup(4);
    await db
      .update(fleetAppliances)
      .set({ pinnedReleaseId: base.id })
      .where(eq(fleetAppliances.applianceId, fleet.applianceIds[0]!));
    const old = await createRollout({
      ctx,
      input: { name: "old", releaseId: base.id, target: {}, strategy: { canarySize: 1, soakSeconds: 0 } },
    });
    await tick();
    const newer = await createRollout({
      ctx,
      input: { name: "new", releaseId: next.id, target: {}, strategy: { canarySize: 1, soakSeconds: 0 } },
    });
    expect(newer.excluded).toEqual([
      expect.objectContaining({ applianceId: fleet.applianceIds[0], reason: `pinned to ${base.id}` }),
    ]);
    // the old rollout keeps only the pinned appliance (pinned to its release); the rest moved to the newer one
    let o = await getRollout({ ctx, input: { id: old.id } });
    expect(o.state).toBe("running");
    expect(o.counts.superseded).toBe(3);
    expect(o.waves.flatMap((w) => w.targets).find((t) => t.state !== "superseded")?.applianceId).toBe(
      fleet.applianceIds[0],
    );
    await tick();
    // a rollout left with nothing to do is superseded as a whole
    const newest = await createRollout({
      ctx,
      input: { name: "newest", releaseId: next.id, target: {}, strategy: { canarySize: 1, soakSeconds: 0 } },
    });
    o = await getRollout({ ctx, input: { id: newer.id } });
    expect(o.state).toBe("superseded");
    expect(o.supersededBy).toBe(newest.id);
    expect(newest.superseded).toEqual([newer.id]);
    expect(clock.now()).toBeInstanceOf(Date);
  });

  it("continues after a restart: a tick from a fresh process sees the same state", async () => {
    const { clock, ctx, next } = await setup(8);
    const { id } = await createRollout({
      ctx,
      input: {
        name: "restart",
        releaseId: next.id,
        target: {},
        strategy: { canarySize: 1, wavePercent: 50, soakSeconds: 30 },
      },
    });
    // "process A" runs two ticks, then dies; "process B" has its own clock object and no memory of A
    await runSchedulerTick({ db, clock, publicUrl });
    await answer(id, clock);
    await runSchedulerTick({ db, clock, publicUrl });
    const clockB = new ManualClock(clock.now().getTime() + 31_000);
    await runSchedulerTick({ db, clock: clockB, publicUrl });
    const r = await getRollout({ ctx, input: { id } });
    expect(r.waves[0]!.state).toBe("completed");
    expect(r.waves[1]!.state).toBe("running");
    expect(r.waves[1]!.counts.applying).toBeGreaterThan(0);
  });
});
