// Telemetry: agent events (numbered by the agent, de-duplicated by appliance and seq) and lossy metric samples.
import {
  bigint,
  bigserial,
  doublePrecision,
  index,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from "drizzle-orm/pg-core";
import { appliances } from "./appliances.ts";

export const telemetryEvents = pgTable(
  "telemetry_events",
  {
    applianceId: text()
      .notNull()
      .references(() => appliances.id, { onDelete: "cascade" }),
    seq: bigint({ mode: "number" }).notNull(),
    kind: text().notNull(),
    at: timestamp({ withTimezone: true }).notNull(),
    data: jsonb().$type<Record<string, unknown>>().notNull(),
    receivedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.applianceId, t.seq] }), index().on(t.applianceId, t.kind, t.at)],
);

export const metricSamples = pgTable(
  "metric_samples",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    applianceId: text()
      .notNull()
      .references(() => appliances.id, { onDelete: "cascade" }),
    name: text().notNull(),
    at: timestamp({ withTimezone: true }).notNull(),
    value: doublePrecision().notNull(),
    labels: jsonb().$type<Record<string, string>>(),
  },
  (t) => [index().on(t.applianceId, t.name, t.at)],
);
