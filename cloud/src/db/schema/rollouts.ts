// Rollouts: the durable state machine of moving appliances to a release in waves. Every row the scheduler
// needs lives here, so a restart (or another replica taking the scheduler lock) continues where it stopped.
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { appliances } from "./appliances.ts";
import { organisations } from "./organisations.ts";
import { releases } from "./releases.ts";

export const rolloutStates = [
  "running",
  "paused",
  "halted",
  "completed",
  "aborted",
  "superseded",
  "rolling-back",
  "rolled-back",
] as const;
export type RolloutState = (typeof rolloutStates)[number];

export const waveStates = ["pending", "running", "soaking", "completed", "halted"] as const;
export type WaveState = (typeof waveStates)[number];

export const targetStates = [
  "pending",
  "applying",
  "healthy",
  "failed",
  "timed-out",
  "deferred",
  "rolling-back",
  "rolled-back",
  "superseded",
  "skipped",
] as const;
export type TargetState = (typeof targetStates)[number];

export interface RolloutTargetSelector {
  channel?: string;
  tags?: string[];
  customerIds?: string[];
  applianceIds?: string[];
}

export const rollouts = pgTable(
  "rollouts",
  {
    id: text().primaryKey(),
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    name: text().notNull(),
    releaseId: text()
      .notNull()
      .references(() => releases.id),
    state: text({ enum: rolloutStates }).notNull(),
    haltReason: text(),
    target: jsonb().$type<RolloutTargetSelector>().notNull(),
    /** the parsed Strategy (rollouts/plan.ts) */
    strategy: jsonb().$type<Record<string, unknown>>().notNull(),
    supersededBy: text(),
    createdBy: text().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull(),
    updatedAt: timestamp({ withTimezone: true }).notNull(),
    finishedAt: timestamp({ withTimezone: true }),
  },
  (t) => [index().on(t.orgId, t.id), index().on(t.state)],
);

export const rolloutWaves = pgTable(
  "rollout_waves",
  {
    rolloutId: text()
      .notNull()
      .references(() => rollouts.id, { onDelete: "cascade" }),
    index: integer().notNull(),
    canary: integer().notNull().default(0),
    size: integer().notNull(),
    failureBudget: integer().notNull(),
    state: text({ enum: waveStates }).notNull().default("pending"),
    openedAt: timestamp({ withTimezone: true }),
    /** when every target settled (healthy, failed or deferred); soak runs from the targets' healthyAt */
    settledAt: timestamp({ withTimezone: true }),
    completedAt: timestamp({ withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.rolloutId, t.index] })],
);

export const rolloutTargets = pgTable(
  "rollout_targets",
  {
    id: text().primaryKey(),
    rolloutId: text()
      .notNull()
      .references(() => rollouts.id, { onDelete: "cascade" }),
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    applianceId: text()
      .notNull()
      .references(() => appliances.id, { onDelete: "cascade" }),
    waveIndex: integer().notNull(),
    state: text({ enum: targetStates }).notNull().default("pending"),
    reason: text(),
    evidence: jsonb().$type<Record<string, unknown>>(),
    attempt: integer().notNull().default(0),
    /** release the appliance's desired state named before we changed it (what roll back returns to) */
    previousRelease: jsonb().$type<{
      id: string;
      chartVersion: string;
      chartDigest: string;
      chartUrl: string;
    } | null>(),
    /** the desired-state generation we wrote; healthy when the appliance observed it */
    generation: integer(),
    startedAt: timestamp({ withTimezone: true }),
    healthyAt: timestamp({ withTimezone: true }),
    finishedAt: timestamp({ withTimezone: true }),
    updatedAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex().on(t.rolloutId, t.applianceId),
    index().on(t.rolloutId, t.waveIndex, t.state),
    index().on(t.applianceId, t.state),
    // the fleet-wide start rate counts recent starts
    index().on(t.orgId, t.startedAt),
  ],
);

/** Every transition of a rollout, a wave or a target, with its reason and evidence (the rollout's history). */
export const rolloutTransitions = pgTable(
  "rollout_transitions",
  {
    id: text().primaryKey(),
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    rolloutId: text()
      .notNull()
      .references(() => rollouts.id, { onDelete: "cascade" }),
    /** "rollout" | "wave" | "target" */
    subject: text({ enum: ["rollout", "wave", "target"] }).notNull(),
    waveIndex: integer(),
    applianceId: text(),
    fromState: text(),
    toState: text().notNull(),
    reason: text().notNull(),
    evidence: jsonb().$type<Record<string, unknown>>(),
    actor: text().notNull(),
    at: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [index().on(t.rolloutId, t.id), index().on(t.applianceId, t.at)],
);
