// License verbs: create, list, get, update, suspend / reinstate / revoke (recorded, NOTIFY'd, emitted), issue a token.
// State machine: active <-> suspended; active | suspended -> revoked (final).
import { sql } from "drizzle-orm";
import { newId } from "../../../shared/src/ids.ts";
import { type Entitlements, entitlementsSchema } from "../../../shared/src/license.ts";
import { getCustomer } from "../db/queries/customers.ts";
import * as q from "../db/queries/licenses.ts";
import { writeAudit } from "../lib/audit.ts";
import type { ServiceContext } from "../lib/context.ts";
import { AppError, notFound } from "../lib/errors.ts";
import { LICENSE_STATE_CHANNEL, type LicenseStateChanged } from "../lib/events.ts";
import { toPage } from "../lib/pagination.ts";
import { assertRole } from "../lib/scope.ts";
import { signLicenseToken } from "./signing-keys.ts";

export type License = q.LicenseRow;
export type LicenseState = q.LicenseState;

export interface CreateLicenseInput {
  customerId: string;
  expiresAt: string;
  entitlements: Entitlements;
  notes?: string;
}

export interface UpdateLicenseInput {
  expiresAt?: string;
  entitlements?: Entitlements;
  notes?: string;
}

function fieldError(field: string, message: string) {
  return new AppError("VALIDATION_FAILED", `${field}: ${message}`, { issues: [{ field, message }] });
}

function futureDate(field: string, iso: string, now: Date): Date {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) throw fieldError(field, "not a date");
  if (at.getTime() <= now.getTime()) throw fieldError(field, "must be in the future");
  return at;
}

export async function createLicense({ ctx, input }: { ctx: ServiceContext; input: CreateLicenseInput }) {
  assertRole(ctx.actor, "operator");
  const now = ctx.deps.clock.now();
  const expiresAt = futureDate("expiresAt", input.expiresAt, now);
  const entitlements = entitlementsSchema.parse(input.entitlements);
  return ctx.deps.db.transaction(async (tx) => {
    const customer = await getCustomer(tx, { orgId: ctx.actor.orgId, id: input.customerId });
    if (!customer) {
      throw new AppError("NOT_FOUND", "customer not found", {
        issues: [{ field: "customerId", message: "not found" }],
      });
    }
    const row = await q.insertLicense(tx, {
      id: newId("license"),
      orgId: ctx.actor.orgId,
      customerId: customer.id,
      state: "active",
      entitlements,
      notes: input.notes ?? "",
      expiresAt,
      stateChangedAt: now,
      createdAt: now,
      updatedAt: now,
    });
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "license.created",
      targetType: "license",
      targetId: row.id,
      summary: { customerId: customer.id, expiresAt: expiresAt.toISOString(), entitlements },
      requestId: ctx.requestId,
      at: now,
    });
    return row;
  });
}

export async function listLicenses({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { limit: number; cursor?: string; customerId?: string; state?: LicenseState };
}) {
  assertRole(ctx.actor, "viewer");
  const rows = await q.listLicenses(ctx.deps.db, { ...input, orgId: ctx.actor.orgId, limit: input.limit + 1 });
  return toPage(rows, input.limit);
}

export async function getLicense({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  assertRole(ctx.actor, "viewer");
  const row = await q.getLicense(ctx.deps.db, { orgId: ctx.actor.orgId, id: input.id });
  if (!row) throw notFound("license");
  return row;
}

export async function updateLicense({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; patch: UpdateLicenseInput };
}) {
  assertRole(ctx.actor, "operator");
  const now = ctx.deps.clock.now();
  return ctx.deps.db.transaction(async (tx) => {
    const before = await q.getLicenseForUpdate(tx, { orgId: ctx.actor.orgId, id: input.id });
    if (!before) throw notFound("license");
    if (before.state === "revoked") throw new AppError("CONFLICT", "a revoked license cannot be changed");
    const patch: Partial<License> = { updatedAt: now };
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    if (input.patch.expiresAt !== undefined) {
      patch.expiresAt = futureDate("expiresAt", input.patch.expiresAt, now);
      changes.expiresAt = { from: before.expiresAt.toISOString(), to: patch.expiresAt.toISOString() };
    }
    if (input.patch.entitlements !== undefined) {
      patch.entitlements = entitlementsSchema.parse(input.patch.entitlements);
      changes.entitlements = { from: before.entitlements, to: patch.entitlements };
    }
    if (input.patch.notes !== undefined) {
      patch.notes = input.patch.notes;
      changes.notes = { from: before.notes, to: input.patch.notes };
    }
    const row = await q.updateLicenseRow(tx, { orgId: ctx.actor.orgId, id: input.id }, patch);
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "license.updated",
      targetType: "license",
      targetId: input.id,
      summary: { changes },
      requestId: ctx.requestId,
      at: now,
    });
    return row!;
  });
}

const transitions = {
  suspend: { from: ["active"], to: "suspended", action: "license.suspended" },
  reinstate: { from: ["suspended"], to: "active", action: "license.reinstated" },
  revoke: { from: ["active", "suspended"], to: "revoked", action: "license.revoked" },
} as const satisfies Record<string, { from: LicenseState[]; to: LicenseState; action: string }>;

export type LicenseTransition = keyof typeof transitions;

/**
 * Moves a license through its state machine. The change, its audit row and a `pg_notify('license_state', id)` share
 * one transaction (other replicas' gateways LISTEN); after commit `licenseStateChanged` is emitted in-process.
 */
export async function changeLicenseState({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; transition: LicenseTransition; reason?: string };
}) {
  assertRole(ctx.actor, "operator");
  const t = transitions[input.transition];
  const now = ctx.deps.clock.now();
  const { row, event } = await ctx.deps.db.transaction(async (tx) => {
    const before = await q.getLicenseForUpdate(tx, { orgId: ctx.actor.orgId, id: input.id });
    if (!before) throw notFound("license");
    if (!(t.from as readonly LicenseState[]).includes(before.state)) {
      throw new AppError("CONFLICT", `cannot ${input.transition} a license that is ${before.state}`, {
        state: before.state,
      });
    }
    const reason = input.reason ?? null;
    const row = await q.updateLicenseRow(
      tx,
      { orgId: ctx.actor.orgId, id: input.id },
      { state: t.to, stateChangedAt: now, stateReason: reason, updatedAt: now },
    );
    await writeAudit(tx, {
      actor: ctx.actor,
      action: t.action,
      targetType: "license",
      targetId: input.id,
      summary: { from: before.state, to: t.to, reason },
      requestId: ctx.requestId,
      at: now,
    });
    await tx.execute(sql`select pg_notify(${LICENSE_STATE_CHANNEL}, ${input.id})`);
    const event: LicenseStateChanged = {
      orgId: ctx.actor.orgId,
      licenseId: input.id,
      state: t.to,
      previousState: before.state,
      reason,
    };
    return { row: row!, event };
  });
  try {
    ctx.deps.events.emit("licenseStateChanged", event);
  } catch (err) {
    ctx.deps.logger.error({ err, licenseId: input.id }, "a licenseStateChanged listener failed");
  }
  return row;
}

/** Issues a signed license token (`exp` = the license's expiry) for an active, unexpired license; audited. */
export async function issueLicenseToken({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  assertRole(ctx.actor, "operator");
  const now = ctx.deps.clock.now();
  return ctx.deps.db.transaction(async (tx) => {
    const found = await q.getLicenseWithCustomer(tx, { orgId: ctx.actor.orgId, id: input.id });
    if (!found) throw notFound("license");
    const { license, customerName } = found;
    if (license.state !== "active") {
      throw new AppError("CONFLICT", `the license is ${license.state}; reinstate it before issuing a token`);
    }
    if (license.expiresAt.getTime() <= now.getTime()) {
      throw new AppError("CONFLICT", "the license has expired; extend expiresAt before issuing a token");
    }
    const signed = await signLicenseToken(tx, {
      actor: ctx.actor,
      kek: ctx.deps.keyEncryptionKey,
      at: now,
      requestId: ctx.requestId,
      claims: {
        sub: license.id,
        exp: Math.floor(license.expiresAt.getTime() / 1000),
        org: license.orgId,
        customer: { id: license.customerId, name: customerName },
        entitlements: license.entitlements,
      },
    });
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "license.token_issued",
      targetType: "license",
      targetId: license.id,
      summary: { kid: signed.kid, jti: signed.jti, expiresAt: license.expiresAt.toISOString() },
      requestId: ctx.requestId,
      at: now,
    });
    return { ...signed, expiresAt: license.expiresAt };
  });
}
