// Appliances (an enrolled agent bound to its public key), their desired state and the agent-token replay cache.

import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import type { ApplyResultWire, ClusterFactsWire } from "../../../../shared/src/protocol/frames.ts";
import { customers, licenses } from "./licenses.ts";
import { organisations } from "./organisations.ts";

export const appliances = pgTable(
  "appliances",
  {
    id: text().primaryKey(),
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    customerId: text()
      .notNull()
      .references(() => customers.id),
    licenseId: text()
      .notNull()
      .references(() => licenses.id),
    name: text().notNull(),
    role: text({ enum: ["hub"] })
      .notNull()
      .default("hub"),
    state: text({ enum: ["active", "disabled"] })
      .notNull()
      .default("active"),
    /** Ed25519 public JWK bound at enrollment; the cloud stores no agent secret */
    publicKey: jsonb().$type<{ kty: "OKP"; crv: "Ed25519"; x: string }>().notNull(),
    /** RFC 7638 thumbprint of publicKey: enrolling again with the same key is idempotent */
    keyThumbprint: text().notNull(),
    facts: jsonb().$type<ClusterFactsWire>(),
    agentVersion: text(),
    /** incremented by every accepted hello; a session with a lower epoch is fenced */
    epoch: integer().notNull().default(0),
    sessionId: text(),
    replicaId: text(),
    online: boolean().notNull().default(false),
    connectedAt: timestamp({ withTimezone: true }),
    disconnectedAt: timestamp({ withTimezone: true }),
    lastSeenAt: timestamp({ withTimezone: true }),
    /** last command seq handed out (the per-appliance sequence) */
    commandSeq: integer().notNull().default(0),
    /** cumulative command ack reported by the agent */
    ackedCommandSeq: integer().notNull().default(0),
    /** highest agent event seq committed */
    eventSeq: bigint({ mode: "number" }).notNull().default(0),
    observedGeneration: integer().notNull().default(0),
    stateDigest: text().notNull().default(""),
    lastApply: jsonb().$type<ApplyResultWire & { at: string }>(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    disabledAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    index().on(t.orgId, t.id),
    index().on(t.licenseId),
    uniqueIndex().on(t.keyThumbprint),
    index().on(t.orgId, t.online).where(sql`${t.online}`),
  ],
);

export const desiredStates = pgTable("desired_states", {
  applianceId: text()
    .primaryKey()
    .references(() => appliances.id, { onDelete: "cascade" }),
  generation: integer().notNull(),
  release: jsonb().$type<{ id: string; chartVersion: string; chartDigest: string; chartUrl: string } | null>(),
  values: jsonb().$type<Record<string, unknown>>().notNull(),
  valuesDigest: text().notNull(),
  digest: text().notNull(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updatedBy: text(),
});

/** jti of every accepted agent token until it expires: a replay is refused on every replica. */
export const agentTokenJtis = pgTable(
  "agent_token_jtis",
  {
    applianceId: text().notNull(),
    jti: text().notNull(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.applianceId, t.jti] }), index().on(t.expiresAt)],
);
