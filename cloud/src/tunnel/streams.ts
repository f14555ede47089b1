// Streaming command output (support.logs with follow) through the tunnel, with credit-based flow control.
//
// Agent -> gateway: `stream.data` chunks, numbered from 1 per command. The gateway stores each chunk (one statement,
// NOTIFY at commit) and only then credits it back (`stream.credit upTo = seq + STREAM_WINDOW`), so the agent never
// has more than STREAM_WINDOW chunks in flight: a heartbeat queues behind at most that, and a slow database slows
// the agent's read of the pod log instead of filling memory anywhere. Readers (the API's SSE route, on any replica)
// read the stored chunks from any seq and are woken by the NOTIFY. The operator stops a stream through the API:
// `cancel_requested_at` plus a NOTIFY the gateway holding the session relays as `stream.cancel`.
import { and, asc, eq, gt, inArray, lt, sql } from "drizzle-orm";
import { type AgentFrame, type FrameOf, STREAM_WINDOW } from "../../../shared/src/protocol/frames.ts";
import { isSupportCommand, supportMinRole } from "../../../shared/src/protocol/support.ts";
import { type Database, type Db, type DbOrTx, rowsOf } from "../db/client.ts";
import { commandStreamChunks, commands, isTerminalStatus } from "../db/schema/index.ts";
import { writeAudit } from "../lib/audit.ts";
import type { ServiceContext } from "../lib/context.ts";
import { AppError } from "../lib/errors.ts";
import { assertRole } from "../lib/scope.ts";
import { channels, createBus } from "./bus.ts";
import { getCommand } from "./commands.ts";

/** Command types whose output is streamed. */
export const STREAMING_COMMANDS = new Set(["support.logs"]);
/** Most a stream may store; beyond it the gateway stops the stream (the operator can start another). */
export const STREAM_MAX_BYTES = 32 * 1024 * 1024;
/** Stored chunks are kept this long after they arrive (the command row, with its result, stays). */
export const STREAM_KEEP_MS = 24 * 3600 * 1000;

type StreamData = FrameOf<AgentFrame, "stream.data">;
type Send = (
  f: { type: "stream.credit"; id: string; upTo: number } | { type: "stream.cancel"; id: string; reason: string },
) => void;

/** Streams one session may open before the gateway treats it as abuse. */
const MAX_STREAMS_PER_SESSION = 256;

interface StreamState {
  stored: number;
  bytes: number;
  /** the highest `upTo` credited so far: a chunk beyond it breaks the protocol */
  credited: number;
  loaded: boolean;
  /** set once the stream is refused or stopped: later chunks are dropped without a query */
  ended?: string;
}

/**
 * The gateway half, one per session: stores chunks in arrival order and credits them. Chunks of a command that is
 * not this appliance's, not a streaming type, or already finished are refused with `stream.cancel`.
 */
export class StreamRelay {
  private readonly streams = new Map<string, StreamState>();
  private chain: Promise<void> = Promise.resolve();

  private readonly db: Db;
  private readonly applianceId: string;
  private readonly send: Send;
  private readonly violation: (reason: string) => void;

  /** `violation` closes the session: an agent that ignores its credit could otherwise fill the gateway's memory. */
  constructor(db: Db, applianceId: string, send: Send, violation: (reason: string) => void) {
    this.db = db;
    this.applianceId = applianceId;
    this.send = send;
    this.violation = violation;
  }

  private state(id: string): StreamState {
    let s = this.streams.get(id);
    if (!s) {
      s = { stored: 0, bytes: 0, credited: STREAM_WINDOW, loaded: false };
      this.streams.set(id, s);
    }
    return s;
  }

  /**
   * Queues the chunk behind the previous ones of this session (stored in order, credited after the commit); a
   * failed store ends the stream, not the session. A chunk beyond the credit, or too many streams, ends the session.
   */
  onData(frame: StreamData): Promise<void> {
    if (!this.streams.has(frame.id) && this.streams.size >= MAX_STREAMS_PER_SESSION) {
      this.violation(`more than ${MAX_STREAMS_PER_SESSION} streams in one session`);
      return this.chain;
    }
    const s = this.state(frame.id);
    if (frame.seq > s.credited) {
      this.violation(`stream.data ${frame.seq} beyond the credit of ${s.credited}`);
      return this.chain;
    }
    this.chain = this.chain.then(() => this.store(frame, s)).catch(() => this.end(frame.id, "chunk not stored"));
    return this.chain;
  }

  /** The command finished: its stream state goes (a late chunk is refused as "command already finished"). */
  forget(id: string): void {
    this.streams.delete(id);
  }

  /** Resolves when every chunk received so far is stored (or refused). */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Ends a stream once: the agent is told why, and later chunks are dropped (an operator's stop arrives here too). */
  end(id: string, reason: string): void {
    const s = this.state(id);
    if (!s.ended) {
      s.ended = reason;
      this.send({ type: "stream.cancel", id, reason });
    }
  }

  private credit(id: string, s: StreamState, upTo: number) {
    s.credited = Math.max(s.credited, upTo);
    this.send({ type: "stream.credit", id, upTo });
  }

  private async store(f: StreamData, s: StreamState): Promise<void> {
    if (s.ended) return;
    if (!s.loaded) {
      s.loaded = true;
      const [cmd] = await this.db
        .select({ type: commands.type, status: commands.status, cancel: commands.cancelRequestedAt })
        .from(commands)
        .where(and(eq(commands.id, f.id), eq(commands.applianceId, this.applianceId)));
      if (!cmd || !STREAMING_COMMANDS.has(cmd.type)) return this.end(f.id, "unknown stream");
      if (isTerminalStatus(cmd.status)) return this.end(f.id, "command already finished");
      if (cmd.cancel) return this.end(f.id, "cancelled by an operator");
      // a gateway restart or a second replica: continue after what is already stored
      const [max] = await this.db
        .select({
          seq: sql<number>`coalesce(max(${commandStreamChunks.seq}), 0)::int`,
          bytes: sql<number>`coalesce(sum(${commandStreamChunks.bytes}), 0)::int`,
        })
        .from(commandStreamChunks)
        .where(eq(commandStreamChunks.commandId, f.id));
      s.stored = Number(max?.seq ?? 0);
      s.bytes = Number(max?.bytes ?? 0);
    }
    if (f.seq <= s.stored) {
      // a repeat: already stored, credit again
      this.credit(f.id, s, s.stored + STREAM_WINDOW);
      return;
    }
    if (f.seq !== s.stored + 1) return this.end(f.id, `chunk ${f.seq} arrived after ${s.stored}`);
    const bytes = Buffer.byteLength(f.data);
    if (s.bytes + bytes > STREAM_MAX_BYTES) {
      return this.end(f.id, `stream limit of ${STREAM_MAX_BYTES / 1024 / 1024} MiB reached`);
    }
    // one statement: the chunk, the wake-up of readers (at commit) and whether an operator asked to stop
    const rows = rowsOf<{ cancel: unknown }>(
      await this.db.execute(sql`
        with ins as (
          insert into command_stream_chunks (command_id, seq, data, bytes)
          values (${f.id}, ${f.seq}::int, ${f.data}, ${bytes}::int)
          on conflict do nothing returning seq)
        select c.cancel_requested_at as cancel, pg_notify(${channels.stream}, ${f.id}) as n,
          (select count(*) from ins) as inserted
        from commands c where c.id = ${f.id}`),
    );
    s.stored = f.seq;
    s.bytes += bytes;
    if (rows[0]?.cancel) return this.end(f.id, "cancelled by an operator");
    this.credit(f.id, s, f.seq + STREAM_WINDOW);
  }
}

export interface StreamChunk {
  seq: number;
  data: string;
}

/** Stored chunks after `afterSeq`, in order. */
export async function readChunks(db: DbOrTx, commandId: string, afterSeq: number, limit = 64): Promise<StreamChunk[]> {
  return db
    .select({ seq: commandStreamChunks.seq, data: commandStreamChunks.data })
    .from(commandStreamChunks)
    .where(and(eq(commandStreamChunks.commandId, commandId), gt(commandStreamChunks.seq, afterSeq)))
    .orderBy(asc(commandStreamChunks.seq))
    .limit(limit);
}

/** Marks the command for cancellation and wakes the gateway holding its session (NOTIFY at commit). */
export async function requestStreamCancel(tx: DbOrTx, applianceId: string, commandId: string, now: Date) {
  await tx
    .update(commands)
    .set({ cancelRequestedAt: now })
    .where(
      and(
        eq(commands.id, commandId),
        inArray(commands.status, ["queued", "delivered", "running"]),
        sql`${commands.cancelRequestedAt} is null`,
      ),
    );
  await tx.execute(sql`select pg_notify(${channels.streamCancel}, ${JSON.stringify({ applianceId, commandId })})`);
}

/** Deletes chunks older than the retention (called by the gateway's sweep). */
export async function pruneStreamChunks(db: DbOrTx, now: Date): Promise<number> {
  const rows = await db
    .delete(commandStreamChunks)
    .where(lt(commandStreamChunks.createdAt, new Date(now.getTime() - STREAM_KEEP_MS)))
    .returning({ seq: commandStreamChunks.seq });
  return rows.length;
}

/**
 * The reader half: one LISTEN per process, shared by every open stream reader; `wait` resolves on the next
 * chunk of that command, or after `ms` (the poll that covers a missed notification).
 */
export class StreamWaker {
  private readonly waiting = new Map<string, Set<() => void>>();
  private started: Promise<unknown> | undefined;

  private readonly database: Database;

  constructor(database: Database) {
    this.database = database;
  }

  wait(commandId: string, ms: number, signal?: AbortSignal): Promise<void> {
    this.started ??= createBus(this.database)
      .listen(channels.stream, (id) => {
        const set = this.waiting.get(id);
        if (!set) return;
        this.waiting.delete(id);
        for (const fn of set) fn();
      })
      .catch(() => undefined);
    return new Promise((resolve) => {
      const set = this.waiting.get(commandId) ?? new Set();
      this.waiting.set(commandId, set);
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener("abort", done);
        set.delete(done);
        if (set.size === 0 && this.waiting.get(commandId) === set) this.waiting.delete(commandId);
        resolve();
      };
      const t = setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
      set.add(done);
    });
  }
}

const wakers = new WeakMap<Database, StreamWaker>();
export const streamWaker = (database: Database) => {
  let w = wakers.get(database);
  if (!w) {
    w = new StreamWaker(database);
    wakers.set(database, w);
  }
  return w;
};

// ---- the API's verbs ----

/** Role needed to read or stop a command's stream: the role its support action needs, else viewer. */
const streamRole = (type: string) => (isSupportCommand(type) ? supportMinRole[type] : "viewer");

/** The command whose stream an operator reads, after the role check (404 for another organisation's). */
export async function openCommandStream({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  assertRole(ctx.actor, "viewer");
  const row = await getCommand(ctx.deps.db, { orgId: ctx.actor.orgId, id: input.id });
  if (!row) throw new AppError("NOT_FOUND", "command not found");
  assertRole(ctx.actor, streamRole(row.type));
  if (!STREAMING_COMMANDS.has(row.type) || row.args.follow !== true) {
    throw new AppError(
      "CONFLICT",
      `command ${row.id} (${row.type}) has no stream; its output is in its result (GET /v1/commands/${row.id})`,
    );
  }
  return row;
}

/** Asks the agent to stop a stream; audited. Stopping a finished stream changes nothing. */
export async function stopCommandStream({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  const row = await openCommandStream({ ctx, input });
  assertRole(ctx.actor, "operator");
  const finished = isTerminalStatus(row.status);
  if (!finished) {
    await ctx.deps.db.transaction(async (tx) => {
      await requestStreamCancel(tx, row.applianceId, row.id, ctx.deps.clock.now());
      await writeAudit(tx, {
        actor: ctx.actor,
        action: "command.stream.stop",
        targetType: "command",
        targetId: row.id,
        summary: { applianceId: row.applianceId, type: row.type },
        requestId: ctx.requestId,
      });
    });
  }
  return { id: row.id, status: row.status, stopping: !finished };
}
