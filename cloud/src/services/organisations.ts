// Organisations and their operator API keys: creating an organisation (bootstrap, admin CLI), and key verbs.
import { sql } from "drizzle-orm";
import { newId } from "../../../shared/src/ids.ts";
import type { DbOrTx } from "../db/client.ts";
import * as q from "../db/queries/organisations.ts";
import { generateApiKeySecret } from "../lib/api-key-secret.ts";
import { writeAudit } from "../lib/audit.ts";
import type { Actor, Role, ServiceContext } from "../lib/context.ts";
import { AppError, notFound } from "../lib/errors.ts";
import { toPage } from "../lib/pagination.ts";
import { assertRole } from "../lib/scope.ts";

export type ApiKey = q.ApiKeyRow;
export type Organisation = q.OrganisationRow;

/** Advisory lock key that serialises the first-start bootstrap across replicas. */
const BOOTSTRAP_LOCK_KEY = 0x626f6f7473747270n;

async function insertKey(
  tx: DbOrTx,
  { orgId, name, role, createdBy, at }: { orgId: string; name: string; role: Role; createdBy: string; at: Date },
) {
  const { secret, prefix, hash } = generateApiKeySecret();
  const row = await q.insertApiKey(tx, {
    id: newId("apiKey"),
    orgId,
    name,
    role,
    prefix,
    hash,
    createdBy,
    createdAt: at,
  });
  return { row, secret };
}

export interface CreatedOrganisation {
  organisation: Organisation;
  apiKey: ApiKey;
  /** the admin key's secret: shown once, never stored */
  secret: string;
}

/** Creates an organisation with a first admin key, audited as `actorName` (e.g. `bootstrap`, `cli`). */
export async function createOrganisation(
  db: DbOrTx,
  {
    name,
    adminKeyName = "first admin key",
    actorName,
    at,
  }: { name: string; adminKeyName?: string; actorName: string; at: Date },
): Promise<CreatedOrganisation> {
  return db.transaction(async (tx) => {
    const organisation = await q.insertOrganisation(tx, { id: newId("organisation"), name, createdAt: at });
    const actor = { orgId: organisation.id, name: actorName };
    await writeAudit(tx, {
      actor,
      action: "organisation.created",
      targetType: "organisation",
      targetId: organisation.id,
      summary: { name },
      at,
    });
    const { row, secret } = await insertKey(tx, {
      orgId: organisation.id,
      name: adminKeyName,
      role: "admin",
      createdBy: actorName,
      at,
    });
    await writeAudit(tx, {
      actor,
      action: "api_key.created",
      targetType: "api_key",
      targetId: row.id,
      summary: { name: row.name, role: row.role, prefix: row.prefix },
      at,
    });
    return { organisation, apiKey: row, secret };
  });
}

/** On an empty database, creates the first organisation and admin key; null when organisations exist already. */
export async function bootstrapIfEmpty(
  db: DbOrTx,
  { name, at }: { name: string; at: Date },
): Promise<CreatedOrganisation | null> {
  return db.transaction(async (tx) => {
    // Two replicas starting together on an empty database: only the first creates the organisation.
    await tx.execute(sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY.toString()}::bigint)`);
    if ((await q.countOrganisations(tx)) > 0) return null;
    return createOrganisation(tx, { name, actorName: "bootstrap", at });
  });
}

export async function createApiKey({ ctx, input }: { ctx: ServiceContext; input: { name: string; role: Role } }) {
  assertRole(ctx.actor, "admin");
  const at = ctx.deps.clock.now();
  return ctx.deps.db.transaction(async (tx) => {
    const created = await insertKey(tx, {
      orgId: ctx.actor.orgId,
      name: input.name,
      role: input.role,
      createdBy: ctx.actor.name,
      at,
    });
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "api_key.created",
      targetType: "api_key",
      targetId: created.row.id,
      summary: { name: input.name, role: input.role, prefix: created.row.prefix },
      requestId: ctx.requestId,
      at,
    });
    return created;
  });
}

export async function listApiKeys({ ctx, input }: { ctx: ServiceContext; input: { limit: number; cursor?: string } }) {
  assertRole(ctx.actor, "admin");
  const rows = await q.listApiKeys(ctx.deps.db, {
    orgId: ctx.actor.orgId,
    limit: input.limit + 1,
    cursor: input.cursor,
  });
  return toPage(rows, input.limit);
}

export async function revokeApiKey({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  assertRole(ctx.actor, "admin");
  const at = ctx.deps.clock.now();
  return ctx.deps.db.transaction(async (tx) => {
    const key = await q.getApiKey(tx, { orgId: ctx.actor.orgId, id: input.id });
    if (!key) throw notFound("API key");
    if (key.revokedAt) throw new AppError("CONFLICT", "the API key is already revoked");
    if (key.role === "admin" && (await q.countActiveAdminKeys(tx, ctx.actor.orgId)) <= 1) {
      throw new AppError("CONFLICT", "this is the organisation's last admin key; create another admin key first");
    }
    const row = await q.revokeApiKeyRow(tx, { orgId: ctx.actor.orgId, id: input.id, at });
    if (!row) throw new AppError("CONFLICT", "the API key is already revoked");
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "api_key.revoked",
      targetType: "api_key",
      targetId: row.id,
      summary: { name: row.name, prefix: row.prefix, role: row.role },
      requestId: ctx.requestId,
      at,
    });
    return row;
  });
}

export async function whoAmI({
  ctx,
}: {
  ctx: ServiceContext;
}): Promise<{ actor: Actor; organisation: Organisation; apiKey?: ApiKey }> {
  assertRole(ctx.actor, "viewer");
  const organisation = await q.getOrganisation(ctx.deps.db, ctx.actor.orgId);
  if (!organisation) throw notFound("organisation");
  const apiKey = ctx.actor.keyId
    ? await q.getApiKey(ctx.deps.db, { orgId: ctx.actor.orgId, id: ctx.actor.keyId })
    : undefined;
  return { actor: ctx.actor, organisation, apiKey };
}
