// One agent's live tunnel session: handshake (hello/welcome), heartbeat bookkeeping and frame dispatch.
import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import type { Logger } from "pino";
import type { WebSocket } from "ws";
import { newId } from "../../../shared/src/ids.ts";
import {
  type AgentFrame,
  CloseCode,
  type CloudFrame,
  encodeFrame,
  type FrameOf,
  LINK_VERSION,
  MAX_FRAME_BYTES,
  type Outgoing,
  parseAgentFrame,
} from "../../../shared/src/protocol/frames.ts";
import { appliances } from "../db/schema/index.ts";
import {
  ackCommands,
  type CommandRow,
  markCommandRunning,
  pendingCommands,
  storeCommandResult,
} from "../tunnel/commands.ts";
import { getDesiredState, recordObserved } from "../tunnel/desired-state.ts";
import { StreamRelay } from "../tunnel/streams.ts";
import type { AuthenticatedAppliance } from "./auth.ts";
import type { GatewayContext } from "./context.ts";

type Hello = FrameOf<AgentFrame, "hello">;

export class Session {
  readonly id = newId("session");
  readonly applianceId: string;
  readonly orgId: string;
  readonly licenseId: string;
  readonly ws: WebSocket;
  private readonly ctx: GatewayContext;
  readonly openedAt = performance.now();
  lastRx = performance.now();
  epoch = 0;
  state: "awaiting-hello" | "live" | "closed" = "awaiting-hello";
  /** holds one of the gateway's in-flight admission slots until welcome or close */
  holdsSlot = false;
  agentVersion = "";
  /** highest command seq sent on this session */
  private sentSeq = 0;
  private sentDigest = "";
  private agentDigest = "";
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  /** acks of events frames, in order; made by the first events frame */
  private eventChain: Promise<void> | undefined;
  private closeCode = 0;
  private closeReason = "";
  readonly counters = { framesIn: 0, framesOut: 0, commandsSent: 0, events: 0, samples: 0 };
  /** streamed command output (log follow); created on the first chunk */
  private streamRelay: StreamRelay | undefined;

  constructor(ctx: GatewayContext, ws: WebSocket, auth: AuthenticatedAppliance) {
    this.ctx = ctx;
    this.ws = ws;
    this.applianceId = auth.applianceId;
    this.orgId = auth.orgId;
    this.licenseId = auth.licenseId;
    ws.on("message", (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on("close", (code, reason) => void this.onClose(code, reason.toString()));
    ws.on("error", (err) => this.log.debug({ err }, "socket error"));
  }

  send(frame: Outgoing<CloudFrame>): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.counters.framesOut++;
    this.ws.send(encodeFrame(frame));
  }

  /** Closes with a code; the socket is terminated if the peer does not complete the close in time. */
  close(code: number, reason: string): void {
    if (this.state === "closed" || this.closeCode) return;
    this.closeCode = code;
    this.closeReason = reason;
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      this.ws.terminate();
    }
    const t = setTimeout(() => this.ws.terminate(), this.ctx.options.closeTimeoutMs);
    t.unref();
  }

  /**
   * A logger bound to this session, made when something is logged (open, close, errors): a pino child kept per held
   * session cost memory while the session sits idle (bench S1).
   */
  private get log(): Logger {
    return this.ctx.logger.child({ applianceId: this.applianceId, sessionId: this.id });
  }

  private onMessage(data: Buffer, isBinary: boolean) {
    this.lastRx = performance.now();
    this.counters.framesIn++;
    if (isBinary) return this.close(CloseCode.PROTOCOL_ERROR, "binary frames are not part of link v1");
    // Heartbeats are nearly all of an idle fleet's frames: a well-formed ping is answered without the schema parser
    // (anything else, or a ping with other fields, takes the full path below).
    if (this.state === "live" && data.length <= 64 && data.includes(PING_TYPE)) {
      const t = pingTime(data);
      if (t !== undefined) {
        if (this.ws.readyState !== this.ws.OPEN) return;
        this.counters.framesOut++;
        this.ws.send(`{"type":"pong","t":${t},"v":${LINK_VERSION}}`);
        return;
      }
    }
    const parsed = parseAgentFrame(data.toString("utf8"), data.length);
    if (!parsed.ok) return this.close(parsed.code, parsed.reason);
    const frame = parsed.frame;
    if (this.state === "awaiting-hello") {
      if (frame.type !== "hello") return this.close(CloseCode.PROTOCOL_ERROR, "the first frame must be hello");
      this.state = "live";
      void this.onHello(frame).catch((err) => this.fail(err, "hello"));
      return;
    }
    if (this.state !== "live") return;
    void this.dispatch(frame).catch((err) => this.fail(err, frame.type));
  }

  private fail(err: unknown, what: string) {
    this.log.error({ err, what }, "session error");
    this.close(CloseCode.INTERNAL_ERROR, "internal error");
  }

  private async onHello(hello: Hello) {
    const { db, clock } = this.ctx;
    if (hello.applianceId !== this.applianceId) {
      return this.close(CloseCode.AUTH_FAILED, "hello names another appliance than the token");
    }
    this.agentVersion = hello.agentVersion;
    this.agentDigest = hello.stateDigest;
    const now = clock.now();
    const nowIso = now.toISOString();
    // One round trip, shared with the hellos of other sessions arriving within a few ms (group commit): take the next
    // epoch, record presence, fence older sessions everywhere (NOTIFY at commit), learn whether anything is waiting.
    const row = await this.ctx.hello({
      applianceId: this.applianceId,
      sessionId: this.id,
      agentVersion: hello.agentVersion,
      observedGeneration: hello.observedGeneration,
      stateDigest: hello.stateDigest,
      facts: hello.facts ?? null,
      lastCommandSeq: hello.lastCommandSeq,
      now,
    });
    if (!row) return this.close(CloseCode.REVOKED, "appliance-disabled");
    if (this.state !== "live" || this.ws.readyState !== this.ws.OPEN) return;
    this.epoch = row.epoch;
    // The silence clock starts at welcome (the agent pings heartbeatMs after it), not at the hello: its round trip
    // may have queued behind a saturated pool for longer than deadAfterMs (bench S1 at 19k and 50k, S2).
    this.lastRx = performance.now();
    // Older sessions on this replica close now; other replicas close theirs on the notify.
    this.ctx.register(this);
    if (row.hasUnacked) await ackCommands(db, this.applianceId, hello.lastCommandSeq, now);
    this.send({
      type: "welcome",
      sessionId: this.id,
      epoch: this.epoch,
      heartbeatMs: this.ctx.options.heartbeatMs,
      deadAfterMs: this.ctx.options.deadAfterMs,
      stateCheckMs: this.ctx.options.stateCheckMs,
      limits: { maxFrameBytes: MAX_FRAME_BYTES },
      lastEventSeq: row.eventSeq,
      serverTime: nowIso,
    });
    this.log.info(
      { epoch: this.epoch, agentVersion: hello.agentVersion, lastCommandSeq: hello.lastCommandSeq },
      "session open",
    );
    this.ctx.onLive(this);
    if (!row.hasPending && (row.desiredDigest ?? "") === (hello.stateDigest || "")) return;
    if (!row.hasPending && !row.desiredDigest) return;
    // Replay: every unfinished command (the agent de-duplicates by id and re-sends results it holds).
    await this.pump(true);
  }

  /** Sends what the outbox and the desired-state row hold for this appliance beyond what was sent. */
  pump(replay = false): Promise<void> {
    if (this.state !== "live" || this.epoch === 0) return Promise.resolve();
    if (this.pumping) {
      this.pumpAgain = true;
      return this.pumping;
    }
    this.pumping = (async () => {
      do {
        this.pumpAgain = false;
        await this.pumpOnce(replay);
        replay = false;
      } while (this.pumpAgain && this.state === "live");
    })()
      .catch((err) => this.fail(err, "pump"))
      .finally(() => {
        this.pumping = undefined;
      });
    return this.pumping;
  }

  private async pumpOnce(replay: boolean) {
    const { db, clock } = this.ctx;
    const desired = await getDesiredState(db, this.applianceId);
    if (desired && desired.digest !== this.agentDigest && (replay || desired.digest !== this.sentDigest)) {
      this.sentDigest = desired.digest;
      this.send({ type: "desired", desired: desired.state });
    }
    for (;;) {
      const rows = await pendingCommands(db, this.applianceId, replay ? 0 : this.sentSeq, clock.now());
      replay = false;
      if (rows.length === 0 || this.state !== "live") return;
      for (const c of rows) this.sendCommand(c);
      if (rows.length < 200) return;
    }
  }

  private sendCommand(c: CommandRow) {
    this.send({
      type: "command",
      id: c.id,
      seq: c.seq,
      command: c.type,
      args: c.args,
      expiresAt: c.expiresAt.toISOString(),
    });
    this.counters.commandsSent++;
    this.sentSeq = Math.max(this.sentSeq, c.seq);
  }

  /**
   * Sends this appliance's unfinished commands that the gateway read for a whole batch (one query for every session
   * the batch names): the rows and order pumpOnce would send. While a pump runs it is asked to run again instead,
   * so frames of the two never interleave.
   */
  deliverCommands(rows: CommandRow[]): void {
    if (this.state !== "live" || this.epoch === 0) return;
    if (this.pumping) {
      void this.pump();
      return;
    }
    for (const c of rows) if (c.seq > this.sentSeq) this.sendCommand(c);
  }

  /** The sweep's safety net: the outbox holds a queued command beyond what this session sent. */
  get lastSentSeq() {
    return this.sentSeq;
  }

  private async dispatch(frame: AgentFrame) {
    const { db, clock } = this.ctx;
    switch (frame.type) {
      case "hello":
        return this.close(CloseCode.PROTOCOL_ERROR, "hello sent twice");
      case "ping":
        return this.send({ type: "pong", t: frame.t });
      case "pong":
        return;
      case "command.ack":
        return this.ctx.ack(this.applianceId, frame.upTo);
      case "command.status":
        return markCommandRunning(db, this.applianceId, frame.id, clock.now());
      case "command.result": {
        // a stream's last chunks are stored before its result, so a reader that sees the end has seen every chunk
        await this.streamRelay?.idle();
        this.streamRelay?.forget(frame.id);
        await storeCommandResult(db, this.applianceId, frame, clock.now());
        return this.send({ type: "command.result.ack", id: frame.id });
      }
      case "events": {
        this.counters.events += frame.events.length;
        const upTo = frame.events.reduce((m, e) => Math.max(m, e.seq), 0);
        const committed = this.ctx.ingest.addEvents(this.applianceId, frame.events);
        committed.catch(() => {});
        // Acks go out in order, each after its own commit; a failed commit ends the session so the agent
        // re-sends everything unacknowledged on its next hello.
        this.eventChain = (this.eventChain ?? Promise.resolve()).then(async () => {
          try {
            await committed;
            this.send({ type: "events.ack", upTo });
          } catch {
            this.close(CloseCode.INTERNAL_ERROR, "events not stored");
          }
        });
        return;
      }
      case "metrics":
        this.counters.samples += frame.samples.length;
        this.ctx.ingest.addSamples(this.applianceId, frame.samples);
        return;
      case "stream.data":
        // not awaited: chunks are stored in order by the relay while heartbeats and other frames go on
        void this.streams.onData(frame);
        return;
      case "state.report": {
        this.agentDigest = frame.stateDigest;
        await recordObserved(db, this.applianceId, frame);
        if (frame.applying) return;
        const desired = await getDesiredState(db, this.applianceId);
        // The periodic comparison: a missed desired frame is sent again.
        if (desired && desired.digest !== frame.stateDigest) {
          this.sentDigest = desired.digest;
          this.send({ type: "desired", desired: desired.state });
        }
        return;
      }
    }
  }

  private async onClose(code: number, reason: string) {
    const wasLive = this.state === "live";
    this.state = "closed";
    this.ctx.unregister(this);
    const durationMs = Math.round(performance.now() - this.openedAt);
    // One wide event per session.
    this.log.info(
      {
        epoch: this.epoch,
        agentVersion: this.agentVersion,
        code: this.closeCode || code,
        reason: this.closeReason || reason,
        by: this.closeCode ? "cloud" : "agent",
        durationMs,
        ...this.counters,
      },
      "session closed",
    );
    if (wasLive && this.epoch > 0) {
      try {
        await this.eventChain?.catch(() => {});
        const now = this.ctx.clock.now();
        // Only the current epoch may mark the appliance offline: a fenced session must not undo its successor.
        await this.ctx.db
          .update(appliances)
          .set({ online: false, disconnectedAt: now, lastSeenAt: now })
          .where(and(eq(appliances.id, this.applianceId), eq(appliances.epoch, this.epoch)));
      } catch (err) {
        this.log.warn({ err }, "could not record disconnect");
      }
    }
  }

  get streams(): StreamRelay {
    this.streamRelay ??= new StreamRelay(
      this.ctx.db,
      this.applianceId,
      (f) => this.send(f),
      (reason) => this.close(CloseCode.PROTOCOL_ERROR, reason),
    );
    return this.streamRelay;
  }

  /** for tests and logs */
  get summary() {
    return { id: this.id, applianceId: this.applianceId, epoch: this.epoch, state: this.state };
  }
}

export const newSessionId = () => randomUUID();

const PING_TYPE = Buffer.from('"ping"');

/**
 * `t` of a frame that is exactly `{"type":"ping","v":1,"t":<number>}` (any key order), else undefined: the frames
 * the full parser would read as this very ping, and nothing else.
 */
export function pingTime(data: Buffer): number | undefined {
  let f: unknown;
  try {
    f = JSON.parse(data.toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof f !== "object" || f === null || Array.isArray(f)) return undefined;
  const o = f as Record<string, unknown>;
  if (Object.keys(o).length !== 3 || o.type !== "ping" || o.v !== LINK_VERSION) return undefined;
  return typeof o.t === "number" && Number.isFinite(o.t) ? o.t : undefined;
}
