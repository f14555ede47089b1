// Organisations (vendor tenants) and their operator API keys.
import { index, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

export const organisations = pgTable("organisations", {
  id: text().primaryKey(),
  name: text().notNull(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text().primaryKey(),
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    name: text().notNull(),
    /** Visible prefix shown in lists, e.g. `cok_live_3F9A` */
    prefix: text().notNull(),
    /** SHA-256 of the whole secret, hex */
    hash: text().notNull(),
    role: text({ enum: ["admin", "operator", "viewer"] }).notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp({ withTimezone: true }),
    revokedAt: timestamp({ withTimezone: true }),
    createdBy: text(),
  },
  (t) => [uniqueIndex().on(t.hash), index().on(t.orgId, t.id)],
);

export const auditLog = pgTable(
  "audit_log",
  {
    id: text().primaryKey(),
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    actor: text().notNull(),
    action: text().notNull(),
    targetType: text().notNull(),
    targetId: text().notNull(),
    summary: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    requestId: text(),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index().on(t.orgId, t.id), index().on(t.orgId, t.targetId), index().on(t.orgId, t.action)],
);
