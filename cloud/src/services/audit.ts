// Reading the audit log (viewers and up), filtered by action, target and actor.
import * as q from "../db/queries/audit.ts";
import type { ServiceContext } from "../lib/context.ts";
import { toPage } from "../lib/pagination.ts";
import { assertRole } from "../lib/scope.ts";

export type AuditEntry = q.AuditRow;

export async function listAuditEntries({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { limit: number; cursor?: string; action?: string; targetId?: string; actor?: string };
}) {
  assertRole(ctx.actor, "viewer");
  const rows = await q.listAudit(ctx.deps.db, { ...input, orgId: ctx.actor.orgId, limit: input.limit + 1 });
  return toPage(rows, input.limit);
}
