// Queries on the audit log (written through lib/audit.ts writeAudit, read here).
import { and, desc, eq } from "drizzle-orm";
import { afterCursor } from "../../lib/pagination.ts";
import type { DbOrTx } from "../client.ts";
import { auditLog } from "../schema/index.ts";

export type AuditRow = typeof auditLog.$inferSelect;

export async function listAudit(
  db: DbOrTx,
  {
    orgId,
    limit,
    cursor,
    action,
    targetId,
    actor,
  }: { orgId: string; limit: number; cursor?: string; action?: string; targetId?: string; actor?: string },
): Promise<AuditRow[]> {
  return db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.orgId, orgId),
        afterCursor(auditLog.id, cursor),
        action ? eq(auditLog.action, action) : undefined,
        targetId ? eq(auditLog.targetId, targetId) : undefined,
        actor ? eq(auditLog.actor, actor) : undefined,
      ),
    )
    .orderBy(desc(auditLog.id))
    .limit(limit);
}
