// Alerts on every test database: webhook deliveries to a real HTTP receiver on loopback, signed (HMAC-SHA256
// over timestamp and body), retried with backoff on failure, each attempt in the delivery log; and the scans
// that raise appliance-inactive and license-expiring alerts once per occurrence.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../cloud/src/db/client.ts";
import { appliances, licenses, webhookDeliveries } from "../../cloud/src/db/schema/index.ts";
import { ManualClock } from "../../cloud/src/lib/clock.ts";
import { deliverDueWebhooks, RETRY_DELAYS_SECONDS } from "../../cloud/src/services/alerts/deliver.ts";
import { enqueueAlert } from "../../cloud/src/services/alerts/enqueue.ts";
import { scanAlerts } from "../../cloud/src/services/alerts/scan.ts";
import { signPayload, verifySignature } from "../../cloud/src/services/alerts/signature.ts";
import { createWebhook } from "../../cloud/src/services/alerts/webhooks.ts";
import { type TestDatabase, testDbKinds } from "../support/db.ts";
import { seedFleet, serviceContext } from "./fixtures.ts";

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe("webhook signatures", () => {
  it("verify with the secret within the tolerance, and fail otherwise", () => {
    const at = new Date("2026-03-02T10:00:00Z");
    const header = signPayload("s3cret", '{"a":1}', at);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature("s3cret", header, '{"a":1}', at)).toBe(true);
    expect(verifySignature("other", header, '{"a":1}', at)).toBe(false);
    expect(verifySignature("s3cret", header, '{"a":2}', at)).toBe(false);
    expect(verifySignature("s3cret", header, '{"a":1}', new Date(at.getTime() + 301_000))).toBe(false);
    expect(verifySignature("s3cret", "garbage", '{"a":1}', at)).toBe(false);
  });
});

describe.each(testDbKinds)("alerts ($name)", (kind) => {
  let database: TestDatabase;
  let db: Db;
  let server: Server;
  let url: string;
  const received: Received[] = [];
  /** status codes the receiver answers, in order (then 200) */
  const answers: number[] = [];
  beforeAll(async () => {
    database = await kind.open();
    db = database.db;
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        received.push({ headers: req.headers, body });
        res.statusCode = answers.shift() ?? 200;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await database.close();
  });

  it("delivers signed alerts, retries failures with backoff and logs every attempt", async () => {
    const clock = new ManualClock(new Date("2026-03-02T10:00:00Z"));
    const fleet = await seedFleet(db, { n: 1, now: clock.now() });
    const ctx = serviceContext(db, clock, fleet.orgId, "admin");
    const hook = await createWebhook({ ctx, input: { url, events: ["rollout.halted"] } });
    await createWebhook({ ctx, input: { url: `${url}?other`, events: ["license.expiring"] } }); // not subscribed
    const queued = await enqueueAlert(db, {
      orgId: fleet.orgId,
      event: "rollout.halted",
      at: clock.now(),
      data: { rolloutId: "rol_x", reason: "wave 1: 3 failed, budget 2" },
    });
    expect(queued).toBe(1);
    received.length = 0;
    answers.push(500, 503);
    const deps = { db, clock, keyEncryptionKey: ctx.deps.keyEncryptionKey };

    expect(await deliverDueWebhooks(deps)).toEqual({ sent: 0, failed: 1 });
    expect(await deliverDueWebhooks(deps)).toEqual({ sent: 0, failed: 0 }); // not due before its backoff
    clock.advance(RETRY_DELAYS_SECONDS[0]! * 1000);
    expect(await deliverDueWebhooks(deps)).toEqual({ sent: 0, failed: 1 });
    clock.advance(RETRY_DELAYS_SECONDS[1]! * 1000);
    expect(await deliverDueWebhooks(deps)).toEqual({ sent: 1, failed: 0 });
    expect(received).toHaveLength(3);

    const last = received[2]!;
    expect(last.headers["x-camelops-event"]).toBe("rollout.halted");
    expect(verifySignature(hook.secret, String(last.headers["x-camelops-signature"]), last.body, clock.now())).toBe(
      true,
    );
    expect(JSON.parse(last.body)).toMatchObject({
      event: "rollout.halted",
      orgId: fleet.orgId,
      data: { rolloutId: "rol_x" },
    });

    const [d] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, hook.id));
    expect(d).toMatchObject({ state: "succeeded", attempts: 3 });
    expect(d!.log.map((a) => a.status)).toEqual([500, 503, 200]);
    expect(d!.log[0]!.error).toBe("HTTP 500");
  });

  it("gives up after the last retry, and records unreachable endpoints", async () => {
    const clock = new ManualClock(new Date("2026-03-02T10:00:00Z"));
    const fleet = await seedFleet(db, { n: 1, now: clock.now() });
    const ctx = serviceContext(db, clock, fleet.orgId, "admin");
    const hook = await createWebhook({
      ctx,
      input: { url: "http://127.0.0.1:9/nothing-listens", events: ["upgrade.failed"] },
    });
    await enqueueAlert(db, { orgId: fleet.orgId, event: "upgrade.failed", at: clock.now(), data: {} });
    const deps = { db, clock, keyEncryptionKey: ctx.deps.keyEncryptionKey };
    for (let i = 0; i <= RETRY_DELAYS_SECONDS.length; i++) {
      await deliverDueWebhooks(deps);
      clock.advance((RETRY_DELAYS_SECONDS[i] ?? 0) * 1000);
    }
    const [d] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, hook.id));
    expect(d).toMatchObject({ state: "failed", attempts: RETRY_DELAYS_SECONDS.length + 1, nextAttemptAt: null });
    expect(d!.log[0]!.error).toMatch(/fetch failed|ECONNREFUSED|TypeError/);
  });

  it("raises appliance-inactive and license-expiring alerts once per occurrence", async () => {
    const clock = new ManualClock(new Date("2026-03-02T10:00:00Z"));
    const fleet = await seedFleet(db, { n: 3, customers: 1, now: clock.now() });
    const ctx = serviceContext(db, clock, fleet.orgId, "admin");
    const hook = await createWebhook({ ctx, input: { url, events: ["appliance.inactive", "license.expiring"] } });
    await db
      .update(appliances)
      .set({ online: false, lastSeenAt: new Date(clock.now().getTime() - 20 * 60_000) })
      .where(eq(appliances.id, fleet.applianceIds[0]!));
    await db
      .update(licenses)
      .set({ expiresAt: new Date(clock.now().getTime() + 5 * 86_400_000) })
      .where(eq(licenses.customerId, fleet.customerIds[0]!));
    await scanAlerts({ db, clock });
    await scanAlerts({ db, clock }); // nothing new
    const rows = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, hook.id));
    const events = rows.map((r) => `${r.event}:${(r.payload.data as { withinDays?: number }).withinDays ?? ""}`).sort();
    // the license is within both the 30-day and the 7-day notice
    expect(events).toEqual(["appliance.inactive:", "license.expiring:30", "license.expiring:7"]);
    const inactive = rows.find((r) => r.event === "appliance.inactive")!;
    expect(inactive.payload.data).toMatchObject({ applianceId: fleet.applianceIds[0] });

    // it comes back and goes away again: a new occurrence, a new alert
    const later = new Date(clock.now().getTime() + 60 * 60_000);
    clock.set(later);
    await db
      .update(appliances)
      .set({ online: false, lastSeenAt: new Date(later.getTime() - 15 * 60_000) })
      .where(eq(appliances.id, fleet.applianceIds[0]!));
    await scanAlerts({ db, clock });
    const again = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.webhookId, hook.id));
    expect(again.filter((r) => r.event === "appliance.inactive")).toHaveLength(2);
  });
});
