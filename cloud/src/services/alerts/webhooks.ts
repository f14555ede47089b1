// Webhook verbs: register an endpoint (the signing secret is shown once and sealed at rest), list, disable,
// and read an endpoint's delivery log.
import { randomBytes } from "node:crypto";
import { and, desc, eq, lt } from "drizzle-orm";
import { newId } from "../../../../shared/src/ids.ts";
import { type AlertEvent, webhookDeliveries, webhooks } from "../../db/schema/index.ts";
import { writeAudit } from "../../lib/audit.ts";
import type { ServiceContext } from "../../lib/context.ts";
import { AppError, notFound } from "../../lib/errors.ts";
import { decodeCursor, encodeCursor } from "../../lib/pagination.ts";
import { assertRole } from "../../lib/scope.ts";
import { seal } from "../../lib/secret-box.ts";

const view = (w: typeof webhooks.$inferSelect) => ({
  id: w.id,
  url: w.url,
  description: w.description,
  events: w.events,
  active: w.active,
  createdBy: w.createdBy,
  createdAt: w.createdAt,
});

export async function createWebhook({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { url: string; events: AlertEvent[]; description?: string };
}) {
  assertRole(ctx.actor, "admin");
  const url = new URL(input.url);
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new AppError("VALIDATION_FAILED", "url: must be http(s)");
  if (url.username || url.password)
    throw new AppError("VALIDATION_FAILED", "url: credentials in the URL are not allowed");
  const now = ctx.deps.clock.now();
  const id = newId("webhook", now.getTime());
  const secret = `whsec_${randomBytes(32).toString("base64url")}`;
  return ctx.deps.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(webhooks)
      .values({
        id,
        orgId: ctx.actor.orgId,
        url: url.toString(),
        description: input.description ?? "",
        events: [...new Set(input.events)],
        sealedSecret: seal(ctx.deps.keyEncryptionKey, secret, id),
        createdBy: ctx.actor.name,
        createdAt: now,
      })
      .returning();
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "webhook.created",
      targetType: "webhook",
      targetId: id,
      summary: { url: url.origin + url.pathname, events: input.events },
      requestId: ctx.requestId,
      at: now,
    });
    return { ...view(row!), secret };
  });
}

export async function listWebhooks({ ctx }: { ctx: ServiceContext }) {
  assertRole(ctx.actor, "viewer");
  const rows = await ctx.deps.db
    .select()
    .from(webhooks)
    .where(eq(webhooks.orgId, ctx.actor.orgId))
    .orderBy(desc(webhooks.id));
  return { items: rows.map(view), nextCursor: null };
}

export async function setWebhookActive({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; active: boolean };
}) {
  assertRole(ctx.actor, "admin");
  const now = ctx.deps.clock.now();
  return ctx.deps.db.transaction(async (tx) => {
    const [row] = await tx
      .update(webhooks)
      .set({ active: input.active })
      .where(and(eq(webhooks.id, input.id), eq(webhooks.orgId, ctx.actor.orgId)))
      .returning();
    if (!row) throw notFound("webhook");
    await writeAudit(tx, {
      actor: ctx.actor,
      action: input.active ? "webhook.enabled" : "webhook.disabled",
      targetType: "webhook",
      targetId: row.id,
      requestId: ctx.requestId,
      at: now,
    });
    return view(row);
  });
}

export async function listDeliveries({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; limit: number; cursor?: string };
}) {
  assertRole(ctx.actor, "viewer");
  const [hook] = await ctx.deps.db
    .select({ id: webhooks.id })
    .from(webhooks)
    .where(and(eq(webhooks.id, input.id), eq(webhooks.orgId, ctx.actor.orgId)));
  if (!hook) throw notFound("webhook");
  const cursor = decodeCursor(input.cursor);
  const rows = await ctx.deps.db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.webhookId, hook.id), cursor ? lt(webhookDeliveries.id, cursor) : undefined))
    .orderBy(desc(webhookDeliveries.id))
    .limit(input.limit + 1);
  const items = rows.slice(0, input.limit).map((d) => ({
    id: d.id,
    event: d.event,
    state: d.state,
    attempts: d.attempts,
    nextAttemptAt: d.nextAttemptAt,
    createdAt: d.createdAt,
    finishedAt: d.finishedAt,
    payload: d.payload,
    log: d.log,
  }));
  return { items, nextCursor: rows.length > input.limit ? encodeCursor(items[items.length - 1]!.id) : null };
}
