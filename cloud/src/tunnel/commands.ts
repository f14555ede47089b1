// The command outbox: enqueue (numbered per appliance, in one transaction with its wake-up), replay, acks, results.
import { and, asc, eq, gt, inArray, lt, lte, notInArray, sql } from "drizzle-orm";
import { newId } from "../../../shared/src/ids.ts";
import type { DbOrTx } from "../db/client.ts";
import { appliances, type CommandStatus, commands } from "../db/schema/index.ts";
import { AppError } from "../lib/errors.ts";
import { channels, notify } from "./bus.ts";

export type CommandRow = typeof commands.$inferSelect;

/** Commands an agent may run; anything else is refused at enqueue time. */
export const commandTypes = [
  "echo",
  "collect-logs",
  "support-bundle",
  "restart-workload",
  "rotate-key",
  "helm-status",
  "list-workloads",
  "sleep",
] as const;

export const DEFAULT_COMMAND_TTL_MS = 24 * 3600 * 1000;
const terminal: CommandStatus[] = ["succeeded", "failed", "expired"];

export interface EnqueueInput {
  orgId: string;
  applianceId: string;
  type: string;
  args?: Record<string, unknown>;
  ttlMs?: number;
  createdBy: string;
  idempotencyKey?: string;
  now?: Date;
}

/**
 * Stores a command (before anything is sent) with the next per-appliance seq, and wakes the replica holding the
 * appliance's session. Pass a transaction to enqueue atomically with other writes (the notify fires at commit).
 */
export async function enqueueCommand(db: DbOrTx, input: EnqueueInput): Promise<CommandRow> {
  const run = async (tx: DbOrTx) => {
    if (input.idempotencyKey) {
      const [dup] = await tx
        .select()
        .from(commands)
        .where(and(eq(commands.applianceId, input.applianceId), eq(commands.idempotencyKey, input.idempotencyKey)));
      if (dup) return dup;
    }
    // The row lock on the appliance serialises seq allocation per appliance.
    const [apl] = await tx
      .update(appliances)
      .set({ commandSeq: sql`${appliances.commandSeq} + 1` })
      .where(and(eq(appliances.id, input.applianceId), eq(appliances.orgId, input.orgId)))
      .returning({ seq: appliances.commandSeq });
    if (!apl) throw new AppError("NOT_FOUND", "appliance not found");
    const now = input.now ?? new Date();
    const [row] = await tx
      .insert(commands)
      .values({
        id: newId("command", now.getTime()),
        orgId: input.orgId,
        applianceId: input.applianceId,
        seq: apl.seq,
        type: input.type,
        args: input.args ?? {},
        createdBy: input.createdBy,
        idempotencyKey: input.idempotencyKey ?? null,
        createdAt: now,
        expiresAt: new Date(now.getTime() + (input.ttlMs ?? DEFAULT_COMMAND_TTL_MS)),
      })
      .returning();
    await notify(tx, channels.wake, input.applianceId);
    return row!;
  };
  return "transaction" in db ? db.transaction(run) : run(db);
}

/** Non-terminal, unexpired commands after `afterSeq`, in order: what a session (re)sends. */
export async function pendingCommands(db: DbOrTx, applianceId: string, afterSeq: number, now: Date, limit = 200) {
  return db
    .select()
    .from(commands)
    .where(
      and(
        eq(commands.applianceId, applianceId),
        gt(commands.seq, afterSeq),
        notInArray(commands.status, terminal),
        gt(commands.expiresAt, now),
      ),
    )
    .orderBy(asc(commands.seq))
    .limit(limit);
}

/** Cumulative receipt ack: every queued command with seq <= upTo is now delivered. */
export async function ackCommands(db: DbOrTx, applianceId: string, upTo: number, now: Date): Promise<void> {
  await db
    .update(commands)
    .set({ status: "delivered", deliveredAt: now })
    .where(and(eq(commands.applianceId, applianceId), lte(commands.seq, upTo), eq(commands.status, "queued")));
  await db
    .update(appliances)
    .set({ ackedCommandSeq: sql`greatest(${appliances.ackedCommandSeq}, ${upTo}::int)` })
    .where(eq(appliances.id, applianceId));
}

export async function markCommandRunning(db: DbOrTx, applianceId: string, id: string, now: Date): Promise<void> {
  await db
    .update(commands)
    .set({
      status: "running",
      startedAt: now,
      deliveredAt: sql`coalesce(${commands.deliveredAt}, ${now.toISOString()}::timestamptz)`,
    })
    .where(
      and(
        eq(commands.applianceId, applianceId),
        eq(commands.id, id),
        inArray(commands.status, ["queued", "delivered"]),
      ),
    );
}

/** Stores the result once; a repeated result (agent re-sent it after a reconnect) changes nothing. */
export async function storeCommandResult(
  db: DbOrTx,
  applianceId: string,
  r: { id: string; status: "succeeded" | "failed" | "expired"; result?: unknown; error?: string },
  now: Date,
): Promise<boolean> {
  const rows = await db
    .update(commands)
    .set({ status: r.status, result: r.result ?? null, error: r.error ?? null, finishedAt: now })
    .where(
      and(
        eq(commands.applianceId, applianceId),
        eq(commands.id, r.id),
        notInArray(commands.status, ["succeeded", "failed"]),
      ),
    )
    .returning({ id: commands.id });
  return rows.length > 0;
}

/** Marks commands that were never started and passed their expiry. */
export async function expireCommands(db: DbOrTx, now: Date): Promise<number> {
  const rows = await db
    .update(commands)
    .set({ status: "expired", finishedAt: now })
    .where(and(inArray(commands.status, ["queued", "delivered"]), lt(commands.expiresAt, now)))
    .returning({ id: commands.id });
  return rows.length;
}

export async function getCommand(db: DbOrTx, { orgId, id }: { orgId: string; id: string }) {
  const [row] = await db
    .select()
    .from(commands)
    .where(and(eq(commands.orgId, orgId), eq(commands.id, id)));
  return row;
}
