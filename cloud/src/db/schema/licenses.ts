// Customers, their licenses, and the cloud's license-signing keys.

import { sql } from "drizzle-orm";
import { index, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import type { Entitlements } from "../../../../shared/src/license.ts";
import { organisations } from "./organisations.ts";

export const customers = pgTable(
  "customers",
  {
    id: text().primaryKey(),
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    name: text().notNull(),
    contactEmail: text(),
    tags: jsonb().$type<string[]>().notNull().default([]),
    /** Maintenance window: cron expression and IANA time zone, null when any time is fine */
    maintenanceWindow: jsonb().$type<{ cron: string; timeZone: string; durationMinutes: number } | null>(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index().on(t.orgId, t.id)],
);

export const licenses = pgTable(
  "licenses",
  {
    id: text().primaryKey(),
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    customerId: text()
      .notNull()
      .references(() => customers.id),
    state: text({ enum: ["active", "suspended", "revoked"] })
      .notNull()
      .default("active"),
    entitlements: jsonb().$type<Entitlements>().notNull(),
    notes: text().notNull().default(""),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    stateChangedAt: timestamp({ withTimezone: true }),
    stateReason: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index().on(t.orgId, t.id), index().on(t.orgId, t.customerId)],
);

/**
 * EdDSA signing keys, per organisation (each org rotates its own); the private JWK is encrypted at rest
 * (AES-256-GCM with the key-encryption key, the kid as associated data). At most one active key per org.
 */
export const signingKeys = pgTable(
  "signing_keys",
  {
    id: text().primaryKey(),
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    kid: text().notNull().unique(),
    publicJwk: jsonb().$type<Record<string, unknown>>().notNull(),
    encryptedPrivateKey: text().notNull(),
    state: text({ enum: ["active", "verify-only", "retired"] }).notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    rotatedAt: timestamp({ withTimezone: true }),
    retiredAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    index().on(t.orgId, t.id),
    uniqueIndex("signing_keys_one_active_per_org").on(t.orgId).where(sql`${t.state} = 'active'`),
  ],
);
