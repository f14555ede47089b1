// enqueueAlert(tx, ...): records one delivery per subscribed webhook, in the transaction of the fact it reports,
// so an alert exists exactly when its cause was committed. The delivery worker sends them later.
import { and, eq, sql } from "drizzle-orm";
import { newId } from "../../../../shared/src/ids.ts";
import type { DbOrTx } from "../../db/client.ts";
import { type AlertEvent, alertMarks, webhookDeliveries, webhooks } from "../../db/schema/index.ts";

export interface AlertInput {
  orgId: string;
  event: AlertEvent;
  /** the alert's subject and facts; `id`, `event`, `orgId` and `at` are added */
  data: Record<string, unknown>;
  at: Date;
  /** raise once per key (for conditions seen again on every scan) */
  dedupKey?: string;
}

/** Returns the number of deliveries queued (0 when deduplicated or nobody subscribed). */
export async function enqueueAlert(tx: DbOrTx, input: AlertInput): Promise<number> {
  if (input.dedupKey) {
    const inserted = await tx
      .insert(alertMarks)
      .values({ orgId: input.orgId, key: input.dedupKey, at: input.at })
      .onConflictDoNothing()
      .returning({ key: alertMarks.key });
    if (inserted.length === 0) return 0;
  }
  const hooks = await tx
    .select({ id: webhooks.id })
    .from(webhooks)
    .where(
      and(
        eq(webhooks.orgId, input.orgId),
        eq(webhooks.active, true),
        sql`${webhooks.events} @> ${JSON.stringify([input.event])}::jsonb`,
      ),
    );
  if (hooks.length === 0) return 0;
  const alertId = newId("event", input.at.getTime());
  const payload = { id: alertId, event: input.event, orgId: input.orgId, at: input.at.toISOString(), data: input.data };
  await tx.insert(webhookDeliveries).values(
    hooks.map((h) => ({
      id: newId("delivery", input.at.getTime()),
      orgId: input.orgId,
      webhookId: h.id,
      event: input.event,
      payload,
      nextAttemptAt: input.at,
      createdAt: input.at,
    })),
  );
  return hooks.length;
}
