// The webhook delivery worker (scheduler role): sends due deliveries, signed, and retries failures with
// exponential backoff; every attempt is kept in the delivery's log.
import { and, asc, eq, lte } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../../db/client.ts";
import { type DeliveryAttempt, webhookDeliveries, webhooks } from "../../db/schema/index.ts";
import type { Clock } from "../../lib/clock.ts";
import { open } from "../../lib/secret-box.ts";
import { SIGNATURE_HEADER, signPayload } from "./signature.ts";

/** Delay before attempt n+1 after n failed attempts; after the last one the delivery is failed for good. */
export const RETRY_DELAYS_SECONDS = [30, 120, 600, 1800, 7200, 21_600];
export const DELIVERY_TIMEOUT_MS = 10_000;

export interface DeliverDeps {
  db: Db;
  clock: Clock;
  keyEncryptionKey: Buffer;
  logger?: Logger;
  fetch?: typeof fetch;
}

export async function deliverDueWebhooks(deps: DeliverDeps, limit = 50): Promise<{ sent: number; failed: number }> {
  const now = deps.clock.now();
  const due = await deps.db
    .select({ d: webhookDeliveries, url: webhooks.url, sealedSecret: webhooks.sealedSecret, active: webhooks.active })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .where(and(eq(webhookDeliveries.state, "pending"), lte(webhookDeliveries.nextAttemptAt, now)))
    .orderBy(asc(webhookDeliveries.nextAttemptAt))
    .limit(limit);
  let sent = 0;
  let failed = 0;
  const doFetch = deps.fetch ?? fetch;
  for (const { d, url, sealedSecret, active } of due) {
    const body = JSON.stringify(d.payload);
    const started = performance.now();
    const attempt: DeliveryAttempt = { at: now.toISOString(), durationMs: 0 };
    let ok = false;
    if (!active) {
      attempt.error = "webhook disabled";
    } else {
      try {
        const secret = open(deps.keyEncryptionKey, sealedSecret, d.webhookId);
        const res = await doFetch(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "camel-ops-webhooks/1",
            "x-camelops-event": d.event,
            "x-camelops-delivery": d.id,
            [SIGNATURE_HEADER]: signPayload(secret, body, now),
          },
          body,
          redirect: "manual",
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        });
        attempt.status = res.status;
        await res.body?.cancel().catch(() => {});
        ok = res.status >= 200 && res.status < 300;
        if (!ok) attempt.error = `HTTP ${res.status}`;
      } catch (err) {
        attempt.error = err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 500) : String(err);
      }
    }
    attempt.durationMs = Math.round(performance.now() - started);
    const attempts = d.attempts + 1;
    const delay = RETRY_DELAYS_SECONDS[attempts - 1];
    const giveUp = !ok && (delay === undefined || !active);
    await deps.db
      .update(webhookDeliveries)
      .set({
        attempts,
        log: [...d.log, attempt].slice(-20),
        state: ok ? "succeeded" : giveUp ? "failed" : "pending",
        nextAttemptAt: ok || giveUp ? null : new Date(now.getTime() + delay! * 1000),
        finishedAt: ok || giveUp ? now : null,
      })
      .where(and(eq(webhookDeliveries.id, d.id), eq(webhookDeliveries.attempts, d.attempts)));
    if (ok) sent++;
    else {
      failed++;
      deps.logger?.warn(
        { deliveryId: d.id, webhookId: d.webhookId, error: attempt.error, attempts },
        "webhook delivery failed",
      );
    }
  }
  return { sent, failed };
}
