// writeAudit(tx, entry): the one way to record a mutation. Call it with the SAME transaction as the change:
//   await db.transaction(async (tx) => { await tx.update(...); await writeAudit(tx, { actor, action, ... }); });
// `actor` is the request's Actor (or any { orgId, name }); `summary` is a small JSON description of the change.
import { newId } from "../../../shared/src/ids.ts";
import type { DbOrTx } from "../db/client.ts";
import { auditLog } from "../db/schema/index.ts";
import type { Actor } from "./context.ts";

export interface AuditEntry {
  actor: Pick<Actor, "orgId" | "name">;
  /** `<entity>.<verb>`, e.g. `customer.created`, `license.suspended` */
  action: string;
  targetType: string;
  targetId: string;
  summary?: Record<string, unknown>;
  requestId?: string;
  at?: Date;
}

export async function writeAudit(tx: DbOrTx, entry: AuditEntry): Promise<string> {
  const id = newId("audit");
  await tx.insert(auditLog).values({
    id,
    orgId: entry.actor.orgId,
    actor: entry.actor.name,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    summary: entry.summary ?? {},
    requestId: entry.requestId ?? null,
    ...(entry.at ? { at: entry.at } : {}),
  });
  return id;
}
