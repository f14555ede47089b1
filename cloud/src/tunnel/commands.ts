// The command outbox: enqueue (numbered per appliance, in one transaction with its wake-up), replay, acks, results.
import { and, asc, eq, gt, inArray, lt, lte, notInArray, sql } from "drizzle-orm";
import { newId } from "../../../shared/src/ids.ts";
import { type DbOrTx, rowsOf } from "../db/client.ts";
import { pgArray } from "../db/pg-array.ts";
import { appliances, commands, terminalCommandStatuses } from "../db/schema/index.ts";
import { AppError } from "../lib/errors.ts";
import { channels, notify } from "./bus.ts";

export type CommandRow = typeof commands.$inferSelect;

/**
 * Commands the generic route (`POST /v1/appliances/{id}/commands`) queues: `echo`, a round trip through the tunnel
 * and the agent's outbox that touches nothing in the cluster. Support actions go through
 * `/v1/appliances/{id}/support/{action}` (role per action, allow-listed in shared/src/protocol/support.ts).
 */
export const commandTypes = ["echo"] as const;

export const DEFAULT_COMMAND_TTL_MS = 24 * 3600 * 1000;

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

export interface EnqueueManyInput extends Omit<EnqueueInput, "applianceId"> {
  applianceIds: string[];
}

/**
 * One command to many appliances of one organisation in a constant number of statements (fan-out): the per-appliance
 * seqs are allocated by one UPDATE ... RETURNING (rows locked in id order, so concurrent batches cannot deadlock),
 * the commands written by one INSERT ... SELECT FROM unnest, and one NOTIFY carries the batch's id range to every
 * replica, which sends it to the sessions it holds with one query (bench S4). Ids that are not appliances of the
 * organisation are skipped (not told apart from unknown ones). With an idempotency key, an appliance that already
 * has a command with that key keeps it and gets no second one. Returns the commands in appliance id order.
 */
export async function enqueueCommandForAppliances(
  db: DbOrTx,
  input: EnqueueManyInput,
): Promise<{ commands: CommandRow[]; skipped: string[] }> {
  const wanted = [...new Set(input.applianceIds)];
  if (wanted.length === 0) return { commands: [], skipped: [] };
  const run = async (tx: DbOrTx) => {
    const existing = input.idempotencyKey
      ? await tx
          .select()
          .from(commands)
          .where(
            and(
              eq(commands.orgId, input.orgId),
              eq(commands.idempotencyKey, input.idempotencyKey),
              sql`${commands.applianceId} = any(${pgArray(wanted)}::text[])`,
            ),
          )
      : [];
    const done = new Set(existing.map((c) => c.applianceId));
    const toCreate = wanted.filter((id) => !done.has(id));
    const seqs = rowsOf<{ id: string; command_seq: number | string }>(
      toCreate.length === 0
        ? []
        : await tx.execute(sql`
            with t as (
              select id from appliances
              where org_id = ${input.orgId} and id = any(${pgArray(toCreate)}::text[])
              order by id for update
            )
            update appliances a set command_seq = a.command_seq + 1 from t where a.id = t.id
            returning a.id, a.command_seq`),
    ).sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    const now = input.now ?? new Date();
    const expiresAt = new Date(now.getTime() + (input.ttlMs ?? DEFAULT_COMMAND_TTL_MS));
    // newId is monotonic within a process: the batch's ids are exactly the range [first, last] of this process.
    const ids = seqs.map(() => newId("command", now.getTime()));
    if (ids.length > 0) {
      await tx.execute(sql`
        insert into commands (id, org_id, appliance_id, seq, type, args, status, idempotency_key, created_by,
          created_at, expires_at)
        select u.id, ${input.orgId}, u.appliance_id, u.seq, ${input.type}, ${JSON.stringify(input.args ?? {})}::jsonb,
          'queued', ${input.idempotencyKey ?? null}, ${input.createdBy}, ${now.toISOString()}::timestamptz,
          ${expiresAt.toISOString()}::timestamptz
        from unnest(${pgArray(ids)}::text[], ${pgArray(seqs.map((r) => r.id))}::text[],
          ${pgArray(seqs.map((r) => String(r.command_seq)))}::int[]) as u(id, appliance_id, seq)`);
      await notify(tx, channels.wakeBatch, JSON.stringify({ from: ids[0], to: ids[ids.length - 1] }));
    }
    const created =
      ids.length === 0
        ? []
        : await tx
            .select()
            .from(commands)
            .where(sql`${commands.id} = any(${pgArray(ids)}::text[])`);
    const all = [...existing, ...created].sort((x, y) =>
      x.applianceId < y.applianceId ? -1 : x.applianceId > y.applianceId ? 1 : 0,
    );
    const found = new Set(all.map((c) => c.applianceId));
    return { commands: all, skipped: wanted.filter((id) => !found.has(id)) };
  };
  return "transaction" in db ? db.transaction(run) : run(db);
}

/**
 * Every non-terminal, unexpired command of the appliances named by one bulk enqueue's id range whose session this
 * replica holds, in (appliance, seq) order: one query for the whole batch instead of a pump per session.
 */
export async function pendingCommandsOfBatch(
  db: DbOrTx,
  { from, to, replicaId, now }: { from: string; to: string; replicaId: string; now: Date },
): Promise<CommandRow[]> {
  return db
    .select()
    .from(commands)
    .where(
      and(
        sql`${commands.applianceId} in (
          select b.appliance_id from commands b join appliances a on a.id = b.appliance_id
          where b.id between ${from} and ${to} and a.replica_id = ${replicaId})`,
        notInArray(commands.status, terminalCommandStatuses),
        gt(commands.expiresAt, now),
      ),
    )
    .orderBy(asc(commands.applianceId), asc(commands.seq));
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
        notInArray(commands.status, terminalCommandStatuses),
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

/**
 * Many agents' cumulative receipt acks in one statement (the gateway group-commits the acks of a fan-out: two
 * statements per ack made the acks of 5,000 agents reach the database seconds after the last delivery, bench S4).
 * An appliance must appear at most once per call.
 */
export async function ackCommandsOfMany(
  db: DbOrTx,
  acks: Array<{ applianceId: string; upTo: number }>,
  now: Date,
): Promise<void> {
  if (acks.length === 0) return;
  await db.execute(sql`
    with v as (
      select * from unnest(${pgArray(acks.map((a) => a.applianceId))}::text[],
        ${pgArray(acks.map((a) => String(a.upTo)))}::int[]) as v(id, up_to)
    ), delivered as (
      update commands set status = 'delivered', delivered_at = ${now.toISOString()}::timestamptz
      from v where commands.appliance_id = v.id and commands.seq <= v.up_to and commands.status = 'queued'
      returning 1
    )
    update appliances set acked_command_seq = greatest(appliances.acked_command_seq, v.up_to)
    from v where appliances.id = v.id`);
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
    .set({
      status: r.status,
      result: r.result ?? null,
      error: r.error ?? null,
      finishedAt: now,
      // a result implies receipt: the agent's ack (group-committed a few ms later) may land after it
      deliveredAt: sql`coalesce(${commands.deliveredAt}, ${now.toISOString()}::timestamptz)`,
    })
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
