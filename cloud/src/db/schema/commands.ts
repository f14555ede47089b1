// The command outbox: stored before it is sent, numbered per appliance, replayed until a result is stored.
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { appliances } from "./appliances.ts";
import { organisations } from "./organisations.ts";
import { bytea } from "./releases.ts";

export const commandStatuses = ["queued", "delivered", "running", "succeeded", "failed", "expired"] as const;
export type CommandStatus = (typeof commandStatuses)[number];
/** A command in one of these states is finished: its result (or expiry) is stored and nothing more happens. */
export const terminalCommandStatuses: CommandStatus[] = ["succeeded", "failed", "expired"];
export const isTerminalStatus = (s: string) => (terminalCommandStatuses as string[]).includes(s);

export const commands = pgTable(
  "commands",
  {
    id: text().primaryKey(),
    orgId: text()
      .notNull()
      .references(() => organisations.id),
    applianceId: text()
      .notNull()
      .references(() => appliances.id, { onDelete: "cascade" }),
    seq: integer().notNull(),
    type: text().notNull(),
    args: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    status: text({ enum: commandStatuses }).notNull().default("queued"),
    idempotencyKey: text(),
    createdBy: text().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    deliveredAt: timestamp({ withTimezone: true }),
    startedAt: timestamp({ withTimezone: true }),
    finishedAt: timestamp({ withTimezone: true }),
    result: jsonb(),
    error: text(),
    /** a streaming command (log follow) the operator asked to stop; the gateway relays it as stream.cancel */
    cancelRequestedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex().on(t.applianceId, t.seq),
    uniqueIndex().on(t.applianceId, t.idempotencyKey),
    index().on(t.orgId, t.applianceId, t.id),
    index().on(t.status, t.expiresAt),
  ],
);

/**
 * The output of a streaming command (support.logs with follow), chunk by chunk as the agent sent it. A chunk is
 * credited back to the agent only after it is stored here, so readers on any replica can (re)read from any seq.
 */
export const commandStreamChunks = pgTable(
  "command_stream_chunks",
  {
    commandId: text()
      .notNull()
      .references(() => commands.id, { onDelete: "cascade" }),
    seq: integer().notNull(),
    data: text().notNull(),
    bytes: integer().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.commandId, t.seq] }), index().on(t.createdAt)],
);

/**
 * Support bundles the agents uploaded (gzip JSON, redacted in the cluster), one per support.bundle command. The
 * agent PUTs to the URL the cloud put in the command's args; operators download it.
 */
export const supportBundles = pgTable(
  "support_bundles",
  {
    commandId: text()
      .primaryKey()
      .references(() => commands.id, { onDelete: "cascade" }),
    orgId: text().notNull(),
    applianceId: text().notNull(),
    sha256: text().notNull(),
    size: integer().notNull(),
    data: bytea().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index().on(t.orgId, t.applianceId)],
);
