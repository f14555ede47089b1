// Queries on customers. Every function takes the database (or a transaction) first and filters by organisation.
import { and, count, desc, eq } from "drizzle-orm";
import { afterCursor } from "../../lib/pagination.ts";
import type { DbOrTx } from "../client.ts";
import { customers, licenses } from "../schema/index.ts";

export type CustomerRow = typeof customers.$inferSelect;

export async function insertCustomer(db: DbOrTx, row: typeof customers.$inferInsert): Promise<CustomerRow> {
  const [created] = await db.insert(customers).values(row).returning();
  return created!;
}

export async function getCustomer(db: DbOrTx, { orgId, id }: { orgId: string; id: string }) {
  const [row] = await db
    .select()
    .from(customers)
    .where(and(eq(customers.orgId, orgId), eq(customers.id, id)));
  return row;
}

export async function listCustomers(
  db: DbOrTx,
  { orgId, limit, cursor }: { orgId: string; limit: number; cursor?: string },
) {
  return db
    .select()
    .from(customers)
    .where(and(eq(customers.orgId, orgId), afterCursor(customers.id, cursor)))
    .orderBy(desc(customers.id))
    .limit(limit);
}

export async function updateCustomerRow(
  db: DbOrTx,
  { orgId, id }: { orgId: string; id: string },
  patch: Partial<typeof customers.$inferInsert>,
) {
  const [row] = await db
    .update(customers)
    .set(patch)
    .where(and(eq(customers.orgId, orgId), eq(customers.id, id)))
    .returning();
  return row;
}

export async function deleteCustomerRow(db: DbOrTx, { orgId, id }: { orgId: string; id: string }) {
  const [row] = await db
    .delete(customers)
    .where(and(eq(customers.orgId, orgId), eq(customers.id, id)))
    .returning();
  return row;
}

export async function countLicensesOfCustomer(
  db: DbOrTx,
  { orgId, customerId }: { orgId: string; customerId: string },
) {
  const [row] = await db
    .select({ n: count() })
    .from(licenses)
    .where(and(eq(licenses.orgId, orgId), eq(licenses.customerId, customerId)));
  return row?.n ?? 0;
}
