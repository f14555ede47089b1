// Condition alerts the scheduler looks for on a slower beat: appliances inactive for too long, licenses about
// to expire. Each is raised once per occurrence (alert_marks), in the same transaction as its deliveries.
import { sql } from "drizzle-orm";
import type { Db } from "../../db/client.ts";
import type { Clock } from "../../lib/clock.ts";
import { enqueueAlert } from "./enqueue.ts";

export interface ScanOptions {
  /** an offline appliance unseen this long is inactive */
  inactiveAfterMs?: number;
  /** days before expiry at which a license alert is raised (each once) */
  licenseExpiryDays?: number[];
}

type Row = Record<string, unknown>;
const rowsOf = (r: unknown) => ((r as { rows?: Row[] }).rows ?? (r as Row[])) as Row[];

export async function scanAlerts(deps: { db: Db; clock: Clock }, opts: ScanOptions = {}): Promise<number> {
  const now = deps.clock.now();
  const inactiveAfter = opts.inactiveAfterMs ?? 10 * 60_000;
  let raised = 0;
  // inactive: offline, unseen since the threshold, and not yet alerted for this absence (keyed by last seen)
  const inactive = rowsOf(
    await deps.db.execute(sql`
      select a.id, a.org_id, a.name, a.customer_id, a.last_seen_at,
        'inactive:' || a.id || ':' || (extract(epoch from a.last_seen_at) * 1000)::bigint as key
      from appliances a
      where not a.online and a.state = 'active' and a.last_seen_at < ${new Date(now.getTime() - inactiveAfter).toISOString()}::timestamptz
        and a.last_seen_at > ${new Date(now.getTime() - 30 * 86_400_000).toISOString()}::timestamptz
        and not exists (select 1 from alert_marks m where m.org_id = a.org_id
          and m.key = 'inactive:' || a.id || ':' || (extract(epoch from a.last_seen_at) * 1000)::bigint)
      limit 1000`),
  );
  for (const a of inactive) {
    await deps.db.transaction(async (tx) => {
      raised += await enqueueAlert(tx, {
        orgId: String(a.org_id),
        event: "appliance.inactive",
        at: now,
        dedupKey: String(a.key),
        data: {
          applianceId: a.id,
          name: a.name,
          customerId: a.customer_id,
          lastSeenAt: new Date(String(a.last_seen_at)).toISOString(),
        },
      });
    });
  }
  for (const days of [...(opts.licenseExpiryDays ?? [30, 7])].sort((x, y) => y - x)) {
    const expiring = rowsOf(
      await deps.db.execute(sql`
        select l.id, l.org_id, l.customer_id, l.expires_at, c.name as customer_name
        from licenses l join customers c on c.id = l.customer_id
        where l.state = 'active' and l.expires_at > ${now.toISOString()}::timestamptz
          and l.expires_at <= ${new Date(now.getTime() + days * 86_400_000).toISOString()}::timestamptz
          and not exists (select 1 from alert_marks m where m.org_id = l.org_id and m.key = 'license-expiring:' || l.id || ':' || ${String(days)})
        limit 1000`),
    );
    for (const l of expiring) {
      await deps.db.transaction(async (tx) => {
        raised += await enqueueAlert(tx, {
          orgId: String(l.org_id),
          event: "license.expiring",
          at: now,
          dedupKey: `license-expiring:${l.id}:${days}`,
          data: {
            licenseId: l.id,
            customerId: l.customer_id,
            customerName: l.customer_name,
            expiresAt: new Date(String(l.expires_at)).toISOString(),
            withinDays: days,
          },
        });
      });
    }
  }
  return raised;
}
