// Queries on license signing keys (per organisation). The JWKS query is the only one across organisations.
import { and, desc, eq, ne } from "drizzle-orm";
import { afterCursor } from "../../lib/pagination.ts";
import type { DbOrTx } from "../client.ts";
import { signingKeys } from "../schema/index.ts";

export type SigningKeyRow = typeof signingKeys.$inferSelect;

export async function insertSigningKey(db: DbOrTx, row: typeof signingKeys.$inferInsert): Promise<SigningKeyRow> {
  const [created] = await db.insert(signingKeys).values(row).returning();
  return created!;
}

export async function getActiveSigningKey(db: DbOrTx, orgId: string) {
  const [row] = await db
    .select()
    .from(signingKeys)
    .where(and(eq(signingKeys.orgId, orgId), eq(signingKeys.state, "active")));
  return row;
}

export async function getSigningKeyByKid(db: DbOrTx, { orgId, kid }: { orgId: string; kid: string }) {
  const [row] = await db
    .select()
    .from(signingKeys)
    .where(and(eq(signingKeys.orgId, orgId), eq(signingKeys.kid, kid)));
  return row;
}

export async function listSigningKeys(
  db: DbOrTx,
  { orgId, limit, cursor }: { orgId: string; limit: number; cursor?: string },
) {
  return db
    .select()
    .from(signingKeys)
    .where(and(eq(signingKeys.orgId, orgId), afterCursor(signingKeys.id, cursor)))
    .orderBy(desc(signingKeys.id))
    .limit(limit);
}

/** Public keys that still verify (active and verify-only), of every organisation: the JWKS document. */
export async function listPublishedKeys(db: DbOrTx) {
  return db
    .select({ kid: signingKeys.kid, publicJwk: signingKeys.publicJwk })
    .from(signingKeys)
    .where(ne(signingKeys.state, "retired"))
    .orderBy(desc(signingKeys.id));
}

export async function updateSigningKeyRow(
  db: DbOrTx,
  { orgId, id }: { orgId: string; id: string },
  patch: Partial<typeof signingKeys.$inferInsert>,
) {
  const [row] = await db
    .update(signingKeys)
    .set(patch)
    .where(and(eq(signingKeys.orgId, orgId), eq(signingKeys.id, id)))
    .returning();
  return row;
}
