// Releases (an immutable chart version published to a channel), channels, chart archives, and the fleet's
// per-appliance release projection (what it runs, its channel, its pin) that the fleet list sorts and filters on.
import { sql } from "drizzle-orm";
import { boolean, customType, index, integer, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { appliances } from "./appliances.ts";
import { customers } from "./licenses.ts";
import { organisations } from "./organisations.ts";

/** Binary column (chart archives, support bundles): a Buffer in and out, whichever driver. */
export const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => "bytea",
  fromDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v)),
});

export const channels = pgTable(
  "channels",
  {
    id: text().primaryKey(),
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    name: text().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex().on(t.orgId, t.name)],
);

export const releases = pgTable(
  "releases",
  {
    id: text().primaryKey(),
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    channel: text().notNull(),
    version: text().notNull(),
    /** semver made sortable as text (zero-padded numbers; a release sorts after its pre-releases) */
    versionKey: text().notNull(),
    /** order of publication within the org and channel: "versions behind" counts newer non-yanked releases */
    seq: integer().notNull(),
    /** sha256 of the chart archive, hex */
    chartDigest: text().notNull(),
    chartSize: integer(),
    /** where the archive lives when it was referenced rather than uploaded */
    chartUrl: text(),
    notes: text().notNull().default(""),
    /** a required release cannot be skipped: a rollout to a newer version first goes through it */
    required: boolean().notNull().default(false),
    state: text({ enum: ["published", "yanked"] })
      .notNull()
      .default("published"),
    yankedAt: timestamp({ withTimezone: true }),
    yankReason: text(),
    publishedBy: text().notNull(),
    publishedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex().on(t.orgId, t.channel, t.version),
    uniqueIndex().on(t.orgId, t.channel, t.seq),
    index().on(t.orgId, t.id),
  ],
);

/** Uploaded chart archives, apart from the release rows so lists never read the bytes. */
export const releaseCharts = pgTable("release_charts", {
  releaseId: text()
    .primaryKey()
    .references(() => releases.id, { onDelete: "cascade" }),
  data: bytea().notNull(),
});

/**
 * One row per appliance: its channel (from its license), the release it runs as far as we know, and its pin.
 * Kept by the fleet sync (scheduler) and the rollout engine; the fleet list sorts and filters on it.
 */
export const fleetAppliances = pgTable(
  "fleet_appliances",
  {
    applianceId: text()
      .primaryKey()
      .references(() => appliances.id, { onDelete: "cascade" }),
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    customerId: text()
      .notNull()
      .references(() => customers.id),
    channel: text().notNull(),
    /** the release observed healthy on the appliance (null before its first successful apply) */
    releaseId: text(),
    chartVersion: text(),
    versionKey: text(),
    releaseSeq: integer(),
    pinnedReleaseId: text(),
    pinnedAt: timestamp({ withTimezone: true }),
    pinnedBy: text(),
    /** last_apply.at of the appliance when this row was synced */
    observedAt: timestamp({ withTimezone: true }),
    syncedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // keyset pages sorted by version, with or without a channel filter (the fleet list joins on applianceId)
    index("fleet_appliances_org_version_idx").on(t.orgId, sql`coalesce(${t.versionKey}, '')`, t.applianceId),
    index("fleet_appliances_org_channel_version_idx").on(
      t.orgId,
      t.channel,
      sql`coalesce(${t.versionKey}, '')`,
      t.applianceId,
    ),
    index().on(t.orgId, t.customerId),
    index().on(t.orgId, t.pinnedReleaseId).where(sql`${t.pinnedReleaseId} is not null`),
  ],
);
