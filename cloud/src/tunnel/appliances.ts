// Appliance verbs for the API: list and read (with presence), disable/enable (closes the tunnel on every replica),
// desired state, commands and telemetry queries. First line of each verb checks the role; every query filters by org.
import { and, asc, desc, eq, gt, gte, lte } from "drizzle-orm";
import type { DesiredStateWire } from "../../../shared/src/protocol/frames.ts";
import { appliances, commands, metricSamples, telemetryEvents } from "../db/schema/index.ts";
import { writeAudit } from "../lib/audit.ts";
import type { ServiceContext } from "../lib/context.ts";
import { AppError, notFound } from "../lib/errors.ts";
import { afterCursor, toPage } from "../lib/pagination.ts";
import { assertRole } from "../lib/scope.ts";
import { channels, notify } from "./bus.ts";
import { type CommandRow, commandTypes, enqueueCommand, getCommand } from "./commands.ts";
import { getDesiredState, setDesiredState } from "./desired-state.ts";

export type ApplianceRow = typeof appliances.$inferSelect;

/** Presence as the API shows it. `online` needs a live session whose replica refreshed lastSeenAt recently. */
export function presenceOf(row: ApplianceRow, now: Date, staleMs: number) {
  const fresh = !!row.lastSeenAt && now.getTime() - row.lastSeenAt.getTime() <= staleMs;
  return {
    status: row.online && fresh ? ("online" as const) : ("offline" as const),
    lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
    connectedAt: row.connectedAt?.toISOString() ?? null,
    disconnectedAt: row.disconnectedAt?.toISOString() ?? null,
    agentVersion: row.agentVersion,
  };
}

export const PRESENCE_STALE_MS = 90_000;

async function loadAppliance(ctx: ServiceContext, id: string) {
  const [row] = await ctx.deps.db
    .select()
    .from(appliances)
    .where(and(eq(appliances.orgId, ctx.actor.orgId), eq(appliances.id, id)));
  if (!row) throw notFound("appliance");
  return row;
}

export async function listAppliances({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { limit: number; cursor?: string; licenseId?: string; customerId?: string };
}) {
  assertRole(ctx.actor, "viewer");
  const rows = await ctx.deps.db
    .select()
    .from(appliances)
    .where(
      and(
        eq(appliances.orgId, ctx.actor.orgId),
        afterCursor(appliances.id, input.cursor),
        input.licenseId ? eq(appliances.licenseId, input.licenseId) : undefined,
        input.customerId ? eq(appliances.customerId, input.customerId) : undefined,
      ),
    )
    .orderBy(desc(appliances.id))
    .limit(input.limit + 1);
  return toPage(rows, input.limit);
}

export async function getAppliance({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  assertRole(ctx.actor, "viewer");
  const row = await loadAppliance(ctx, input.id);
  const desired = await getDesiredState(ctx.deps.db, row.id);
  return { row, desired: desired?.state ?? null };
}

export async function setApplianceEnabled({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; enabled: boolean; reason?: string };
}) {
  assertRole(ctx.actor, "operator");
  const now = ctx.deps.clock.now();
  const row = await ctx.deps.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(appliances)
      .set({ state: input.enabled ? "active" : "disabled", disabledAt: input.enabled ? null : now })
      .where(and(eq(appliances.orgId, ctx.actor.orgId), eq(appliances.id, input.id)))
      .returning();
    if (!updated) throw notFound("appliance");
    await writeAudit(tx, {
      actor: ctx.actor,
      action: input.enabled ? "appliance.enabled" : "appliance.disabled",
      targetType: "appliance",
      targetId: input.id,
      summary: { reason: input.reason ?? null },
      requestId: ctx.requestId,
      at: now,
    });
    // Every replica re-checks and closes the session within a sweep at most, at once with the notify.
    await notify(tx, channels.applianceState, input.id);
    return updated;
  });
  return row;
}

export async function putDesiredState({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; release: DesiredStateWire["release"]; values: Record<string, unknown>; valuesDigest: string };
}) {
  assertRole(ctx.actor, "operator");
  return ctx.deps.db.transaction(async (tx) => {
    const state = await setDesiredState(tx, {
      orgId: ctx.actor.orgId,
      applianceId: input.id,
      release: input.release,
      values: input.values,
      valuesDigest: input.valuesDigest,
      updatedBy: ctx.actor.name,
    });
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "appliance.desired_state.set",
      targetType: "appliance",
      targetId: input.id,
      summary: { generation: state.generation, releaseId: state.release?.id ?? null },
      requestId: ctx.requestId,
    });
    return state;
  });
}

export async function createCommand({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; type: string; args?: Record<string, unknown>; ttlSeconds?: number; idempotencyKey?: string };
}): Promise<CommandRow> {
  assertRole(ctx.actor, "operator");
  if (!(commandTypes as readonly string[]).includes(input.type)) {
    throw new AppError("VALIDATION_FAILED", `type: unknown command; one of ${commandTypes.join(", ")}`);
  }
  return ctx.deps.db.transaction(async (tx) => {
    const row = await enqueueCommand(tx, {
      orgId: ctx.actor.orgId,
      applianceId: input.id,
      type: input.type,
      args: input.args,
      ttlMs: input.ttlSeconds ? input.ttlSeconds * 1000 : undefined,
      createdBy: ctx.actor.name,
      idempotencyKey: input.idempotencyKey,
      now: ctx.deps.clock.now(),
    });
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "command.created",
      targetType: "appliance",
      targetId: input.id,
      summary: { commandId: row.id, type: row.type, seq: row.seq },
      requestId: ctx.requestId,
    });
    return row;
  });
}

export async function listCommands({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; limit: number; cursor?: string };
}) {
  assertRole(ctx.actor, "viewer");
  await loadAppliance(ctx, input.id);
  const rows = await ctx.deps.db
    .select()
    .from(commands)
    .where(
      and(
        eq(commands.orgId, ctx.actor.orgId),
        eq(commands.applianceId, input.id),
        afterCursor(commands.id, input.cursor),
      ),
    )
    .orderBy(desc(commands.id))
    .limit(input.limit + 1);
  return toPage(rows, input.limit);
}

export async function readCommand({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  assertRole(ctx.actor, "viewer");
  const row = await getCommand(ctx.deps.db, { orgId: ctx.actor.orgId, id: input.id });
  if (!row) throw notFound("command");
  return row;
}

export async function listEvents({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; afterSeq?: number; kind?: string; limit: number };
}) {
  assertRole(ctx.actor, "viewer");
  await loadAppliance(ctx, input.id);
  return ctx.deps.db
    .select()
    .from(telemetryEvents)
    .where(
      and(
        eq(telemetryEvents.applianceId, input.id),
        input.afterSeq !== undefined ? gt(telemetryEvents.seq, input.afterSeq) : undefined,
        input.kind ? eq(telemetryEvents.kind, input.kind) : undefined,
      ),
    )
    .orderBy(asc(telemetryEvents.seq))
    .limit(input.limit);
}

export async function listMetrics({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; name?: string; since?: string; until?: string; limit: number };
}) {
  assertRole(ctx.actor, "viewer");
  await loadAppliance(ctx, input.id);
  return ctx.deps.db
    .select()
    .from(metricSamples)
    .where(
      and(
        eq(metricSamples.applianceId, input.id),
        input.name ? eq(metricSamples.name, input.name) : undefined,
        input.since ? gte(metricSamples.at, new Date(input.since)) : undefined,
        input.until ? lte(metricSamples.at, new Date(input.until)) : undefined,
      ),
    )
    .orderBy(desc(metricSamples.at))
    .limit(input.limit);
}
