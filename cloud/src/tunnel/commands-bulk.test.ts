// The bulk enqueue (one command to many appliances in a constant number of statements, one NOTIFY per batch) and the
// gateway's batch query: per-appliance seq order, idempotency, another organisation's ids skipped; on every database.
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../shared/src/ids.ts";
import { type TestDatabase, testDbKinds } from "../../../test/support/db.ts";
import type { DbOrTx } from "../db/client.ts";
import { appliances, commands, customers, licenses } from "../db/schema/index.ts";
import { createOrganisation } from "../services/organisations.ts";
import { channels, createBus } from "./bus.ts";
import { ackCommandsOfMany, enqueueCommand, enqueueCommandForAppliances, pendingCommandsOfBatch } from "./commands.ts";

async function orgWithAppliances(db: DbOrTx, n: number) {
  const { organisation } = await createOrganisation(db as never, { name: "bulk", actorName: "test", at: new Date() });
  const customerId = newId("customer");
  await db.insert(customers).values({ id: customerId, orgId: organisation.id, name: "c" } as never);
  const licenseId = newId("license");
  await db.insert(licenses).values({
    id: licenseId,
    orgId: organisation.id,
    customerId,
    expiresAt: new Date(Date.now() + 86_400_000),
    entitlements: { maxWorkerNodes: 1, maxHubs: 100, updateChannel: "stable", features: [] },
  } as never);
  const ids = Array.from({ length: n }, () => newId("appliance"));
  await db.insert(appliances).values(
    ids.map((id, i) => ({
      id,
      orgId: organisation.id,
      customerId,
      licenseId,
      name: `a${i}`,
      publicKey: { kty: "OKP" as const, crv: "Ed25519" as const, x: "x".repeat(43) },
      keyThumbprint: `t${i}-${id}`,
    })),
  );
  return { orgId: organisation.id, ids };
}

describe.each(testDbKinds)("bulk command enqueue ($name)", (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await kind.open();
  });
  afterAll(async () => {
    await database?.close();
  });

  it("gives every appliance the next seq of its own, in one NOTIFY for the whole batch", {
    timeout: 20_000,
  }, async () => {
    const db = database.db;
    const { orgId, ids } = await orgWithAppliances(db, 3);
    // the first appliance already has a command: its bulk command is seq 2
    await enqueueCommand(db, { orgId, applianceId: ids[0]!, type: "echo", createdBy: "t" });
    const bus = createBus(database);
    const batches: string[] = [];
    const wakes: string[] = [];
    const stop = [
      await bus.listen(channels.wakeBatch, (p) => batches.push(p)),
      await bus.listen(channels.wake, (p) => wakes.push(p)),
    ];
    try {
      const out = await enqueueCommandForAppliances(db, {
        orgId,
        applianceIds: [...ids, ids[1]!],
        type: "echo",
        args: { n: 1 },
        createdBy: "bulk-test",
      });
      expect(out.skipped).toEqual([]);
      expect(out.commands.map((c) => [c.applianceId, c.seq])).toEqual(
        [...ids].sort().map((id) => [id, id === ids[0] ? 2 : 1]),
      );
      expect(out.commands.every((c) => c.status === "queued" && c.type === "echo" && c.createdBy === "bulk-test")).toBe(
        true,
      );
      expect(out.commands[0]!.args).toEqual({ n: 1 });
      const seqs = await db
        .select({ id: appliances.id, seq: appliances.commandSeq })
        .from(appliances)
        .where(inArray(appliances.id, ids));
      expect(Object.fromEntries(seqs.map((r) => [r.id, r.seq]))).toEqual({ [ids[0]!]: 2, [ids[1]!]: 1, [ids[2]!]: 1 });
      await new Promise((r) => setTimeout(r, 200));
      expect(batches).toHaveLength(1);
      const range = JSON.parse(batches[0]!) as { from: string; to: string };
      const created = out.commands.map((c) => c.id).sort();
      expect([range.from, range.to]).toEqual([created[0], created[created.length - 1]]);
      expect(wakes).toEqual([]);
    } finally {
      for (const s of stop) await s();
    }
  });

  it("with an idempotency key a retry creates nothing and a later id gets only its own", {
    timeout: 20_000,
  }, async () => {
    const db = database.db;
    const { orgId, ids } = await orgWithAppliances(db, 3);
    const input = { orgId, type: "echo", createdBy: "t", idempotencyKey: "deploy-42" };
    const first = await enqueueCommandForAppliances(db, { ...input, applianceIds: ids.slice(0, 2) });
    const again = await enqueueCommandForAppliances(db, { ...input, applianceIds: ids });
    expect(again.commands.filter((c) => ids.slice(0, 2).includes(c.applianceId)).map((c) => c.id)).toEqual(
      first.commands.map((c) => c.id),
    );
    const all = await db.select().from(commands).where(inArray(commands.applianceId, ids));
    expect(all).toHaveLength(3);
    expect(all.every((c) => c.seq === 1)).toBe(true);
  });

  it("skips ids of another organisation and unknown ids, and leaves those appliances untouched", async () => {
    const db = database.db;
    const mine = await orgWithAppliances(db, 1);
    const theirs = await orgWithAppliances(db, 1);
    const out = await enqueueCommandForAppliances(db, {
      orgId: mine.orgId,
      applianceIds: [mine.ids[0]!, theirs.ids[0]!, "apl_doesnotexist"],
      type: "echo",
      createdBy: "t",
    });
    expect(out.commands.map((c) => c.applianceId)).toEqual([mine.ids[0]]);
    expect(out.skipped.sort()).toEqual([theirs.ids[0]!, "apl_doesnotexist"].sort());
    expect(await db.select().from(commands).where(eq(commands.applianceId, theirs.ids[0]!))).toEqual([]);
    const [other] = await db.select().from(appliances).where(eq(appliances.id, theirs.ids[0]!));
    expect(other!.commandSeq).toBe(0);
    // nothing to do at all: no statement fails, nothing is created
    const none = await enqueueCommandForAppliances(db, {
      orgId: mine.orgId,
      applianceIds: [theirs.ids[0]!],
      type: "echo",
      createdBy: "t",
    });
    expect(none).toEqual({ commands: [], skipped: [theirs.ids[0]!] });
  });

  it("concurrent batches over the same appliances keep each appliance's seqs unique and gap-free", {
    timeout: 30_000,
  }, async () => {
    const db = database.db;
    const { orgId, ids } = await orgWithAppliances(db, 20);
    const shuffled = [...ids].reverse();
    await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        enqueueCommandForAppliances(db, {
          orgId,
          applianceIds: i % 2 ? ids : shuffled,
          type: "echo",
          createdBy: `b${i}`,
        }),
      ),
    );
    const rows = await db.select().from(commands).where(inArray(commands.applianceId, ids));
    for (const id of ids) {
      expect(
        rows
          .filter((r) => r.applianceId === id)
          .map((r) => r.seq)
          .sort(),
      ).toEqual([1, 2, 3, 4]);
    }
  });

  it("the batch query returns the unfinished commands of the batch's appliances held by one replica, in seq order", async () => {
    const db = database.db;
    const { orgId, ids } = await orgWithAppliances(db, 3);
    await db
      .update(appliances)
      .set({ replicaId: "rep_here" })
      .where(inArray(appliances.id, ids.slice(0, 2)));
    await db.update(appliances).set({ replicaId: "rep_elsewhere" }).where(eq(appliances.id, ids[2]!));
    // an earlier command still unfinished on the first appliance comes first
    const earlier = await enqueueCommand(db, { orgId, applianceId: ids[0]!, type: "echo", createdBy: "t" });
    const out = await enqueueCommandForAppliances(db, { orgId, applianceIds: ids, type: "echo", createdBy: "t" });
    const sorted = out.commands.map((c) => c.id).sort();
    const rows = await pendingCommandsOfBatch(db, {
      from: sorted[0]!,
      to: sorted[sorted.length - 1]!,
      replicaId: "rep_here",
      now: new Date(),
    });
    expect(rows.map((r) => r.applianceId)).not.toContain(ids[2]);
    const first = rows.filter((r) => r.applianceId === ids[0]);
    expect(first.map((r) => [r.id, r.seq])).toEqual([
      [earlier.id, 1],
      [out.commands.find((c) => c.applianceId === ids[0])!.id, 2],
    ]);
    expect(rows.filter((r) => r.applianceId === ids[1]).map((r) => r.seq)).toEqual([1]);
  });

  it("acks of many appliances in one statement: cumulative per appliance, never lowered", async () => {
    const db = database.db;
    const { orgId, ids } = await orgWithAppliances(db, 2);
    for (let i = 0; i < 3; i++) {
      await enqueueCommandForAppliances(db, { orgId, applianceIds: ids, type: "echo", createdBy: "t" });
    }
    const now = new Date();
    await ackCommandsOfMany(
      db,
      [
        { applianceId: ids[0]!, upTo: 2 },
        { applianceId: ids[1]!, upTo: 3 },
      ],
      now,
    );
    // an older ack arriving late changes nothing
    await ackCommandsOfMany(db, [{ applianceId: ids[1]!, upTo: 1 }], now);
    const rows = await db.select().from(commands).where(inArray(commands.applianceId, ids));
    const status = (id: string) =>
      rows
        .filter((r) => r.applianceId === id)
        .sort((x, y) => x.seq - y.seq)
        .map((r) => r.status);
    expect(status(ids[0]!)).toEqual(["delivered", "delivered", "queued"]);
    expect(status(ids[1]!)).toEqual(["delivered", "delivered", "delivered"]);
    const apl = await db.select().from(appliances).where(inArray(appliances.id, ids));
    expect(Object.fromEntries(apl.map((a) => [a.id, a.ackedCommandSeq]))).toEqual({ [ids[0]!]: 2, [ids[1]!]: 3 });
  });
});
