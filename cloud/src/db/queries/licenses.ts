// Queries on licenses. Every function takes the database (or a transaction) first and filters by organisation.
import { and, desc, eq } from "drizzle-orm";
import { afterCursor } from "../../lib/pagination.ts";
import type { DbOrTx } from "../client.ts";
import { customers, licenses } from "../schema/index.ts";

export type LicenseRow = typeof licenses.$inferSelect;
export type LicenseState = LicenseRow["state"];

export async function insertLicense(db: DbOrTx, row: typeof licenses.$inferInsert): Promise<LicenseRow> {
  const [created] = await db.insert(licenses).values(row).returning();
  return created!;
}

export async function getLicense(db: DbOrTx, { orgId, id }: { orgId: string; id: string }) {
  const [row] = await db
    .select()
    .from(licenses)
    .where(and(eq(licenses.orgId, orgId), eq(licenses.id, id)));
  return row;
}

/** The license with its customer's name (what a token names). */
export async function getLicenseWithCustomer(db: DbOrTx, { orgId, id }: { orgId: string; id: string }) {
  const [row] = await db
    .select({ license: licenses, customerName: customers.name })
    .from(licenses)
    .innerJoin(customers, eq(customers.id, licenses.customerId))
    .where(and(eq(licenses.orgId, orgId), eq(licenses.id, id)));
  return row;
}

/** Locks the row for a state change (FOR UPDATE), so two concurrent transitions serialise. */
export async function getLicenseForUpdate(db: DbOrTx, { orgId, id }: { orgId: string; id: string }) {
  const [row] = await db
    .select()
    .from(licenses)
    .where(and(eq(licenses.orgId, orgId), eq(licenses.id, id)))
    .for("update");
  return row;
}

export async function listLicenses(
  db: DbOrTx,
  {
    orgId,
    limit,
    cursor,
    customerId,
    state,
  }: { orgId: string; limit: number; cursor?: string; customerId?: string; state?: LicenseState },
) {
  return db
    .select()
    .from(licenses)
    .where(
      and(
        eq(licenses.orgId, orgId),
        afterCursor(licenses.id, cursor),
        customerId ? eq(licenses.customerId, customerId) : undefined,
        state ? eq(licenses.state, state) : undefined,
      ),
    )
    .orderBy(desc(licenses.id))
    .limit(limit);
}

export async function updateLicenseRow(
  db: DbOrTx,
  { orgId, id }: { orgId: string; id: string },
  patch: Partial<typeof licenses.$inferInsert>,
) {
  const [row] = await db
    .update(licenses)
    .set(patch)
    .where(and(eq(licenses.orgId, orgId), eq(licenses.id, id)))
    .returning();
  return row;
}
