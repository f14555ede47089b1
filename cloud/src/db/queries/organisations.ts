// Queries on organisations and operator API keys. Every function takes the database (or a transaction) first.
import { and, count, desc, eq, isNull, sql } from "drizzle-orm";
import { afterCursor } from "../../lib/pagination.ts";
import type { DbOrTx } from "../client.ts";
import { apiKeys, organisations } from "../schema/index.ts";

export type OrganisationRow = typeof organisations.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;

export async function countOrganisations(db: DbOrTx): Promise<number> {
  const [row] = await db.select({ n: count() }).from(organisations);
  return row?.n ?? 0;
}

export async function insertOrganisation(db: DbOrTx, row: typeof organisations.$inferInsert): Promise<OrganisationRow> {
  const [created] = await db.insert(organisations).values(row).returning();
  return created!;
}

export async function getOrganisation(db: DbOrTx, id: string): Promise<OrganisationRow | undefined> {
  const [row] = await db.select().from(organisations).where(eq(organisations.id, id));
  return row;
}

export async function listOrganisations(db: DbOrTx): Promise<OrganisationRow[]> {
  return db.select().from(organisations).orderBy(organisations.id);
}

export async function findApiKeyByHash(db: DbOrTx, hash: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.hash, hash));
  return row;
}

/** Records use, at most once a minute per key (the condition makes concurrent requests write once). */
export async function touchApiKey(db: DbOrTx, id: string, at: Date): Promise<void> {
  const minuteAgo = new Date(at.getTime() - 60_000);
  await db
    .update(apiKeys)
    .set({ lastUsedAt: at })
    .where(
      and(
        eq(apiKeys.id, id),
        sql`(${apiKeys.lastUsedAt} is null or ${apiKeys.lastUsedAt} < ${minuteAgo.toISOString()})`,
      ),
    );
}

export async function insertApiKey(db: DbOrTx, row: typeof apiKeys.$inferInsert): Promise<ApiKeyRow> {
  const [created] = await db.insert(apiKeys).values(row).returning();
  return created!;
}

export async function getApiKey(db: DbOrTx, { orgId, id }: { orgId: string; id: string }) {
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, id)));
  return row;
}

export async function listApiKeys(
  db: DbOrTx,
  {
    orgId,
    limit,
    cursor,
    includeRevoked = true,
  }: { orgId: string; limit: number; cursor?: string; includeRevoked?: boolean },
): Promise<ApiKeyRow[]> {
  return db
    .select()
    .from(apiKeys)
    .where(
      and(
        eq(apiKeys.orgId, orgId),
        afterCursor(apiKeys.id, cursor),
        includeRevoked ? undefined : isNull(apiKeys.revokedAt),
      ),
    )
    .orderBy(desc(apiKeys.id))
    .limit(limit);
}

export async function countActiveAdminKeys(db: DbOrTx, orgId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(apiKeys)
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.role, "admin"), isNull(apiKeys.revokedAt)));
  return row?.n ?? 0;
}

export async function revokeApiKeyRow(db: DbOrTx, { orgId, id, at }: { orgId: string; id: string; at: Date }) {
  const [row] = await db
    .update(apiKeys)
    .set({ revokedAt: at })
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning();
  return row;
}
