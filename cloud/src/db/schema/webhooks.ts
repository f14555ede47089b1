// Alert webhooks: endpoints with their signing secret (sealed at rest), and the delivery log with retries.
import { boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { organisations } from "./organisations.ts";

export const alertEvents = ["appliance.inactive", "upgrade.failed", "rollout.halted", "license.expiring"] as const;
export type AlertEvent = (typeof alertEvents)[number];

export const webhooks = pgTable(
  "webhooks",
  {
    id: text().primaryKey(),
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    url: text().notNull(),
    description: text().notNull().default(""),
    events: jsonb().$type<AlertEvent[]>().notNull(),
    /** HMAC secret sealed with the key-encryption key (label: the webhook id) */
    sealedSecret: text().notNull(),
    active: boolean().notNull().default(true),
    createdBy: text().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [index().on(t.orgId, t.id)],
);

export interface DeliveryAttempt {
  at: string;
  status?: number;
  error?: string;
  durationMs: number;
}

export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: text().primaryKey(),
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    webhookId: text()
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    event: text({ enum: alertEvents }).notNull(),
    payload: jsonb().$type<Record<string, unknown>>().notNull(),
    state: text({ enum: ["pending", "succeeded", "failed"] })
      .notNull()
      .default("pending"),
    attempts: integer().notNull().default(0),
    log: jsonb().$type<DeliveryAttempt[]>().notNull().default([]),
    nextAttemptAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true }).notNull(),
    finishedAt: timestamp({ withTimezone: true }),
  },
  (t) => [index().on(t.webhookId, t.id), index().on(t.state, t.nextAttemptAt)],
);

/** Alerts already raised (dedup): `inactive:<applianceId>:<lastSeenAt>`, `license-expiring:<licenseId>:<days>`. */
export const alertMarks = pgTable(
  "alert_marks",
  {
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    key: text().notNull(),
    at: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [uniqueIndex().on(t.orgId, t.key)],
);
