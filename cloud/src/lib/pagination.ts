// Cursor pagination for every list: an opaque cursor over the sortable id, newest first, `limit` at most 200.
// Use: query schema `paginationQuery.extend({...filters})`; in the query `where(and(orgFilter, afterCursor(t.id, cursor)))
// .orderBy(desc(t.id)).limit(limit + 1)`; then `toPage(rows, limit)`; response schema `pageSchema(itemSchema, "Name")`.
import { z } from "@hono/zod-openapi";
import { type AnyColumn, lt, type SQL } from "drizzle-orm";
import { AppError } from "./errors.ts";

export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 50;

export const paginationQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_SIZE)
    .default(DEFAULT_PAGE_SIZE)
    .openapi({ description: `page size, at most ${MAX_PAGE_SIZE}` }),
  cursor: z.string().max(200).optional().openapi({ description: "`nextCursor` of the previous page" }),
});

export function pageSchema<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      items: z.array(item),
      nextCursor: z.string().nullable().openapi({ description: "pass as `cursor` for the next page; null at the end" }),
    })
    .openapi(name);
}

export function encodeCursor(id: string): string {
  return Buffer.from(JSON.stringify({ id }), "utf8").toString("base64url");
}

/** The id a cursor stands for; a cursor that was not made by us is a validation error naming `cursor`. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === "") return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (parsed && typeof parsed === "object" && typeof (parsed as { id?: unknown }).id === "string") {
      const id = (parsed as { id: string }).id;
      if (/^[a-z]{2,4}_[0-9A-Z]{26}$/.test(id)) return id;
    }
  } catch {
    // fall through
  }
  throw new AppError("VALIDATION_FAILED", "cursor: not a cursor returned by this API", {
    issues: [{ field: "cursor", message: "not a cursor returned by this API" }],
  });
}

/** Condition for "after the cursor" in newest-first order; undefined when there is no cursor. */
export function afterCursor(idColumn: AnyColumn, cursor: string | undefined): SQL | undefined {
  const id = decodeCursor(cursor);
  return id === undefined ? undefined : lt(idColumn, id);
}

/** Cuts the `limit + 1` rows a query fetched into a page and the cursor of the next one. */
export function toPage<T extends { id: string }>(rows: T[], limit: number): { items: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(items[items.length - 1]!.id) };
}
