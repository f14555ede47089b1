// The ingest's per-appliance event_seq update (one statement over unnest(ids, seqs)): the highest committed seq per
// appliance, never lowered by an older batch; on every database kind.
import { inArray } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../shared/src/ids.ts";
import { type TestDatabase, testDbKinds } from "../../../test/support/db.ts";
import { appliances, customers, licenses } from "../db/schema/index.ts";
import { createOrganisation } from "../services/organisations.ts";
import { TelemetryIngest } from "./telemetry-ingest.ts";

describe.each(testDbKinds)("telemetry ingest event_seq ($name)", (kind) => {
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
    const ingest = new TelemetryIngest(db, pino({ level: "silent" }), { flushMs: 5 });
    const ev = (seq: number) => ({ seq, kind: "k", at: new Date().toISOString(), data: {} });
    await Promise.all([
      ingest.addEvents(ids[0]!, [ev(1), ev(7), ev(3)]),
      ingest.addEvents(ids[1]!, [ev(2)]),
      ingest.addEvents(ids[0]!, [ev(5)]),
    ]);
    // an older, re-sent batch does not lower it
    await ingest.addEvents(ids[0]!, [ev(2)]);
    await ingest.close();
    const rows = await db.select().from(appliances).where(inArray(appliances.id, ids));
    const seqOf = (id: string) => rows.find((r) => r.id === id)!.eventSeq;
    expect(seqOf(ids[0]!)).toBe(7);
    expect(seqOf(ids[1]!)).toBe(2);
    expect(seqOf(ids[2]!)).toBe(0);
  });
});
