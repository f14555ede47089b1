// Customer verbs: create, list, get, update, delete (only without licenses). Each mutation is audited in its transaction.
import { newId } from "../../../shared/src/ids.ts";
import * as q from "../db/queries/customers.ts";
import { writeAudit } from "../lib/audit.ts";
import type { ServiceContext } from "../lib/context.ts";
import { AppError, notFound } from "../lib/errors.ts";
import { toPage } from "../lib/pagination.ts";
import { assertRole } from "../lib/scope.ts";

export type Customer = q.CustomerRow;
export interface MaintenanceWindow {
  cron: string;
  timeZone: string;
  durationMinutes: number;
}

export interface CreateCustomerInput {
  name: string;
  contactEmail?: string | null;
  tags?: string[];
  maintenanceWindow?: MaintenanceWindow | null;
}

export type UpdateCustomerInput = Partial<CreateCustomerInput>;

export async function createCustomer({ ctx, input }: { ctx: ServiceContext; input: CreateCustomerInput }) {
  assertRole(ctx.actor, "operator");
  const now = ctx.deps.clock.now();
  return ctx.deps.db.transaction(async (tx) => {
    const row = await q.insertCustomer(tx, {
      id: newId("customer"),
      orgId: ctx.actor.orgId,
      name: input.name,
      contactEmail: input.contactEmail ?? null,
      tags: input.tags ?? [],
      maintenanceWindow: input.maintenanceWindow ?? null,
      createdAt: now,
      updatedAt: now,
    });
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "customer.created",
      targetType: "customer",
      targetId: row.id,
      summary: { name: row.name },
      requestId: ctx.requestId,
      at: now,
    });
    return row;
  });
}

export async function listCustomers({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { limit: number; cursor?: string };
}) {
  assertRole(ctx.actor, "viewer");
  const rows = await q.listCustomers(ctx.deps.db, {
    orgId: ctx.actor.orgId,
    limit: input.limit + 1,
    cursor: input.cursor,
  });
  return toPage(rows, input.limit);
}

export async function getCustomer({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  assertRole(ctx.actor, "viewer");
  const row = await q.getCustomer(ctx.deps.db, { orgId: ctx.actor.orgId, id: input.id });
  if (!row) throw notFound("customer");
  return row;
}

export async function updateCustomer({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; patch: UpdateCustomerInput };
}) {
  assertRole(ctx.actor, "operator");
  const now = ctx.deps.clock.now();
  return ctx.deps.db.transaction(async (tx) => {
    const before = await q.getCustomer(tx, { orgId: ctx.actor.orgId, id: input.id });
    if (!before) throw notFound("customer");
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    for (const [k, v] of Object.entries(input.patch) as [keyof UpdateCustomerInput, unknown][]) {
      if (v !== undefined && JSON.stringify(before[k]) !== JSON.stringify(v)) changes[k] = { from: before[k], to: v };
    }
    const row = await q.updateCustomerRow(
      tx,
      { orgId: ctx.actor.orgId, id: input.id },
      { ...input.patch, updatedAt: now },
    );
    if (!row) throw notFound("customer");
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "customer.updated",
      targetType: "customer",
      targetId: row.id,
      summary: { changes },
      requestId: ctx.requestId,
      at: now,
    });
    return row;
  });
}

export async function deleteCustomer({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  assertRole(ctx.actor, "operator");
  return ctx.deps.db.transaction(async (tx) => {
    const existing = await q.getCustomer(tx, { orgId: ctx.actor.orgId, id: input.id });
    if (!existing) throw notFound("customer");
    const n = await q.countLicensesOfCustomer(tx, { orgId: ctx.actor.orgId, customerId: input.id });
    if (n > 0) {
      throw new AppError("CONFLICT", `the customer has ${n} license(s); revoke them and keep the customer instead`);
    }
    await q.deleteCustomerRow(tx, { orgId: ctx.actor.orgId, id: input.id });
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "customer.deleted",
      targetType: "customer",
      targetId: input.id,
      summary: { name: existing.name },
      requestId: ctx.requestId,
      at: ctx.deps.clock.now(),
    });
  });
}
