// The highest committed event seq per appliance (what welcome.lastEventSeq tells the agent), never lowered by an
// older batch, with several flushes in flight at once; on every database kind.
import { inArray, sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../shared/src/ids.ts";
import { type TestDatabase, testDbKinds } from "../../../test/support/db.ts";
import { appliances, customers, licenses } from "../db/schema/index.ts";
import { createOrganisation } from "../services/organisations.ts";
import { committedEventSeqSql, TelemetryIngest } from "./telemetry-ingest.ts";

describe.each(testDbKinds)("telemetry ingest committed event seq ($name)", (kind) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await kind.open();
  });
  afterAll(async () => {
    await database?.close();
  });

  it("records the highest seq per appliance and never lowers it", { timeout: 20_000 }, async () => {
    const db = database.db;
    const { organisation } = await createOrganisation(db, { name: "seq org", actorName: "test", at: new Date() });
    const customerId = newId("customer");
    await db.insert(customers).values({ id: customerId, orgId: organisation.id, name: "c" } as never);
    const licenseId = newId("license");
    await db.insert(licenses).values({
      id: licenseId,
      orgId: organisation.id,
      customerId,
      expiresAt: new Date(Date.now() + 86_400_000),
      entitlements: { maxWorkerNodes: 1, maxHubs: 10, updateChannel: "stable", features: [] },
    } as never);
    const ids = [newId("appliance"), newId("appliance"), newId("appliance")];
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
    // maxRows 1: every frame starts its own flush, so up to three run concurrently
    const ingest = new TelemetryIngest(db, pino({ level: "silent" }), { flushMs: 5, maxRows: 1, concurrency: 3 });
    const ev = (seq: number) => ({ seq, kind: "k", at: new Date().toISOString(), data: {} });
    await Promise.all([
      ingest.addEvents(ids[0]!, [ev(1), ev(7), ev(3)]),
      ingest.addEvents(ids[1]!, [ev(2)]),
      ingest.addEvents(ids[0]!, [ev(5)]),
      ingest.addEvents(ids[1]!, [ev(2), ev(4)]),
    ]);
    expect(ingest.stats.maxConcurrent).toBeGreaterThan(1);
    // an older, re-sent batch does not lower it
    await ingest.addEvents(ids[0]!, [ev(2)]);
    await ingest.close();
    const rows = (await db.execute(
      sql`select id, ${committedEventSeqSql} as seq from appliances where ${inArray(appliances.id, ids)}`,
    )) as unknown as
      | Array<{ id: string; seq: number | string }>
      | { rows: Array<{ id: string; seq: number | string }> };
    const list = Array.isArray(rows) ? rows : rows.rows;
    const seqOf = (id: string) => Number(list.find((r) => r.id === id)!.seq);
    expect(seqOf(ids[0]!)).toBe(7);
    expect(seqOf(ids[1]!)).toBe(4);
    expect(seqOf(ids[2]!)).toBe(0);
    // a value recorded in appliances.event_seq before the ingest stopped writing it still counts
    await db
      .update(appliances)
      .set({ eventSeq: 9 })
      .where(inArray(appliances.id, [ids[1]!]));
    const again = (await db.execute(
      sql`select ${committedEventSeqSql} as seq from appliances where id = ${ids[1]!}`,
    )) as unknown as Array<{ seq: number | string }> | { rows: Array<{ seq: number | string }> };
    expect(Number((Array.isArray(again) ? again : again.rows)[0]!.seq)).toBe(9);
  });

  it("flush() waits for every flush in flight and writes what was queued behind them", {
    timeout: 20_000,
  }, async () => {
    const db = database.db;
    const { organisation } = await createOrganisation(db, { name: "flush org", actorName: "test", at: new Date() });
    const customerId = newId("customer");
    await db.insert(customers).values({ id: customerId, orgId: organisation.id, name: "c" } as never);
    const licenseId = newId("license");
    await db.insert(licenses).values({
      id: licenseId,
      orgId: organisation.id,
      customerId,
      expiresAt: new Date(Date.now() + 86_400_000),
      entitlements: { maxWorkerNodes: 1, maxHubs: 10, updateChannel: "stable", features: [] },
    } as never);
    const id = newId("appliance");
    await db.insert(appliances).values({
      id,
      orgId: organisation.id,
      customerId,
      licenseId,
      name: "f",
      publicKey: { kty: "OKP" as const, crv: "Ed25519" as const, x: "x".repeat(43) },
      keyThumbprint: `tf-${id}`,
    });
    const ingest = new TelemetryIngest(db, pino({ level: "silent" }), { flushMs: 60_000, maxRows: 1, concurrency: 2 });
    const committed: number[] = [];
    for (let seq = 1; seq <= 10; seq++) {
      void ingest
        .addEvents(id, [{ seq, kind: "k", at: new Date().toISOString(), data: { seq } }])
        .then(() => committed.push(seq));
    }
    await ingest.flush();
    await new Promise((r) => setImmediate(r));
    expect(committed.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(ingest.stats.maxConcurrent).toBe(2);
    await ingest.close();
  });
});
