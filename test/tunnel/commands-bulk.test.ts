// Fan-out through the gateway: one bulk enqueue (one NOTIFY) reaches every live session in per-appliance seq order,
// after an earlier unfinished command of the same appliance, and never an appliance of another organisation.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type WebSocket from "ws";
import { appliances } from "../../cloud/src/db/schema/index.ts";
import { createOrganisation } from "../../cloud/src/services/organisations.ts";
import { enqueueCommand, enqueueCommandForAppliances } from "../../cloud/src/tunnel/commands.ts";
import { testDbKinds } from "../support/db.ts";
import { useDatabaseAndCleanups } from "../support/per-test.ts";
import { enrollRaw, eventually, issueLicense, rawSession, startTunnelCloud } from "./harness.ts";

function commandsOf(ws: WebSocket) {
  const got: Array<{ id: string; seq: number; command: string }> = [];
  ws.on("message", (d) => {
    const f = JSON.parse(d.toString()) as { type: string; id: string; seq: number; command: string };
    if (f.type === "command") got.push({ id: f.id, seq: f.seq, command: f.command });
  });
  return got;
}

describe.each(testDbKinds)("bulk commands through the gateway ($name)", (kind) => {
  const t = useDatabaseAndCleanups(kind);

  it("one batch reaches every session in seq order; another organisation's appliance gets nothing", async () => {
    // no sweep during the test: its outbox poll would deliver the batch too, hiding a broken batch path
    const tc = await startTunnelCloud({ database: t.database, gateway: { sweepMs: 600_000 } });
    t.cleanups.push(() => tc.stop());
    const { token } = await issueLicense(tc, { maxHubs: 2 });
    const e1 = await enrollRaw(tc, token);
    const e2 = await enrollRaw(tc, token);
    const s1 = await rawSession(e1);
    const s2 = await rawSession(e2);
    const got1 = commandsOf(s1.ws);
    const got2 = commandsOf(s2.ws);
    const [row] = await t.database.db.select().from(appliances).where(eq(appliances.id, e1.applianceId));
    const orgId = row!.orgId;
    const earlier = await enqueueCommand(t.database.db, {
      orgId,
      applianceId: e1.applianceId,
      type: "sleep",
      createdBy: "t",
    });
    await eventually(() => got1.length === 1, 5_000, "the earlier command");
    const out = await enqueueCommandForAppliances(t.database.db, {
      orgId,
      applianceIds: [e1.applianceId, e2.applianceId],
      type: "echo",
      createdBy: "t",
    });
    expect(out.commands).toHaveLength(2);
    await eventually(() => got1.length === 2 && got2.length === 1, 5_000, "the batch");
    expect(got1.map((c) => [c.id, c.seq])).toEqual([
      [earlier.id, 1],
      [out.commands.find((c) => c.applianceId === e1.applianceId)!.id, 2],
    ]);
    expect(got2.map((c) => c.seq)).toEqual([1]);
    // a caller of another organisation names these appliances: skipped, nothing is sent
    const { organisation } = await createOrganisation(t.database.db, { name: "other", actorName: "t", at: new Date() });
    const foreign = await enqueueCommandForAppliances(t.database.db, {
      orgId: organisation.id,
      applianceIds: [e1.applianceId, e2.applianceId],
      type: "echo",
      createdBy: "intruder",
    });
    expect(foreign).toEqual({ commands: [], skipped: [e1.applianceId, e2.applianceId] });
    await new Promise((r) => setTimeout(r, 300));
    expect(got1).toHaveLength(2);
    expect(got2).toHaveLength(1);
    s1.ws.close();
    s2.ws.close();
  });
});
