// The tunnel gateway: authenticates WebSocket upgrades before they complete, holds one session per appliance,
// fences older sessions (epoch, across replicas via NOTIFY), closes revoked ones, drains with goaway.

import { randomBytes } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { and, eq, isNull, lt, max, or, sql } from "drizzle-orm";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import { CloseCode, LINK_SUBPROTOCOL, TUNNEL_PATH, tunnelAudience } from "../../../shared/src/protocol/frames.ts";
import type { Database, Db } from "../db/client.ts";
import { pgArray } from "../db/pg-array.ts";
import { appliances, commands } from "../db/schema/index.ts";
import type { Clock } from "../lib/clock.ts";
import { GroupCommit } from "../lib/group-commit.ts";
import { type Bus, channels, createBus, notify } from "../tunnel/bus.ts";
import { ackCommandsOfMany, expireCommands, pendingCommandsOfBatch } from "../tunnel/commands.ts";
import { pruneStreamChunks } from "../tunnel/streams.ts";
import { TelemetryIngest } from "../tunnel/telemetry-ingest.ts";
import { randomBetween, TokenBucket } from "./admission.ts";
import { AgentTokenVerifier, refusedAppliances, TunnelAuthError } from "./auth.ts";
import type { GatewayContext } from "./context.ts";
import { type HelloOutcome, type HelloRecord, recordHellos } from "./hello.ts";
import { defaultGatewayOptions, type GatewayOptions } from "./options.ts";
import { Session } from "./session.ts";

export interface GatewayDeps {
  database: Database;
  logger: Logger;
  clock: Clock;
  publicUrl: string;
  /** In-process license events (cloud core's CloudEvents); other replicas' changes arrive by NOTIFY */
  events?: { on(event: "licenseStateChanged", fn: (e: { licenseId: string }) => void): unknown };
}

export type DeepPartialGatewayOptions = Partial<Omit<GatewayOptions, "admission">> & {
  admission?: Partial<GatewayOptions["admission"]>;
};

export interface GatewayStats {
  sessions: number;
  upgrades: number;
  refused: Record<string, number>;
  arrivals: number;
}

const statusText: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export class Gateway {
  readonly replicaId = `rep_${randomBytes(6).toString("hex")}`;
  readonly options: GatewayOptions;
  readonly sessions = new Map<string, Session>();
  private readonly pending = new Set<Session>();
  private readonly deps: GatewayDeps;
  private readonly db: Db;
  private readonly log: Logger;
  private readonly wss: WebSocketServer;
  private readonly verifier: AgentTokenVerifier;
  private readonly bucket: TokenBucket;
  readonly ingest: TelemetryIngest;
  private readonly bus: Bus;
  private unlisten: Array<() => Promise<void>> = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;
  private draining = false;
  /** upgrades being authenticated plus sessions not yet welcomed */
  private inFlight = 0;
  private sweeping = false;
  readonly stats: GatewayStats = { sessions: 0, upgrades: 0, refused: {}, arrivals: 0 };
  /** called with each session that completed hello (tests measure arrivals with it) */
  onSessionLive?: (s: Session) => void;
  private readonly ctx: GatewayContext;

  constructor(deps: GatewayDeps, options: DeepPartialGatewayOptions = {}) {
    this.deps = deps;
    this.db = deps.database.db;
    this.options = {
      ...defaultGatewayOptions,
      ...options,
      admission: { ...defaultGatewayOptions.admission, ...options.admission },
    };
    this.log = deps.logger.child({ component: "gateway", replicaId: this.replicaId });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(LINK_SUBPROTOCOL) ? LINK_SUBPROTOCOL : false),
    });
    this.verifier = new AgentTokenVerifier(
      this.db,
      tunnelAudience(deps.publicUrl),
      this.options.tokenClockSkewSec,
      this.options.handshakeGroupMs,
    );
    const hellos = new GroupCommit<HelloRecord, HelloOutcome | undefined>(
      (records) => recordHellos(this.db, this.replicaId, records),
      {
        windowMs: this.options.handshakeGroupMs,
        maxItems: this.options.handshakeGroupMs > 0 ? 256 : 1,
        keyOf: (r) => r.applianceId,
      },
    );
    const acks = new GroupCommit<{ applianceId: string; upTo: number }, undefined>(
      async (items) => {
        await ackCommandsOfMany(this.db, items, deps.clock.now());
        return items.map(() => undefined);
      },
      {
        windowMs: this.options.ackGroupMs,
        maxItems: this.options.ackGroupMs > 0 ? 1000 : 1,
        keyOf: (a) => a.applianceId,
      },
    );
    this.bucket = new TokenBucket(this.options.admission.ratePerSec, this.options.admission.burst);
    this.ingest = new TelemetryIngest(this.db, this.log, this.options.ingest);
    this.bus = createBus(deps.database);
    const self = this;
    this.ctx = {
      db: this.db,
      clock: deps.clock,
      logger: this.log,
      replicaId: this.replicaId,
      options: this.options,
      ingest: this.ingest,
      register(s) {
        self.pending.delete(s);
        const old = self.sessions.get(s.applianceId);
        if (old && old !== s) old.close(CloseCode.SUPERSEDED, "superseded by a newer session");
        self.sessions.set(s.applianceId, s);
        self.stats.sessions = self.sessions.size;
      },
      unregister(s) {
        self.releaseSlot(s);
        self.pending.delete(s);
        if (self.sessions.get(s.applianceId) === s) self.sessions.delete(s.applianceId);
        self.stats.sessions = self.sessions.size;
      },
      notifyFence: (applianceId, epoch) =>
        notify(this.db, channels.fence, JSON.stringify({ applianceId, epoch, replicaId: this.replicaId })),
      onLive(s) {
        self.releaseSlot(s);
        self.stats.arrivals++;
        self.onSessionLive?.(s);
      },
      hello: (record) => hellos.add(record),
      ack: (applianceId, upTo) => acks.add({ applianceId, upTo }),
    };
  }

  /** An operator stopped a stream: the replica holding the appliance's session tells its agent. */
  private onStreamCancel(payload: string) {
    try {
      const { applianceId, commandId } = JSON.parse(payload) as { applianceId: string; commandId: string };
      this.sessions.get(applianceId)?.streams.end(commandId, "cancelled by an operator");
    } catch (err) {
      this.log.warn({ err }, "bad stream cancel notification");
    }
  }

  /** Subscribes to the wake-up channels and starts the timers. */
  async start(): Promise<void> {
    this.unlisten.push(
      await this.bus.listen(channels.wake, (applianceId) => void this.sessions.get(applianceId)?.pump()),
      await this.bus.listen(channels.wakeBatch, (payload) => void this.deliverBatch(payload)),
      await this.bus.listen(channels.fence, (payload) => this.onFence(payload)),
      await this.bus.listen(channels.licenseState, (licenseId) => void this.recheckLicense(licenseId)),
      await this.bus.listen(channels.applianceState, (id) => void this.recheck([id])),
      await this.bus.listen(channels.streamCancel, (payload) => this.onStreamCancel(payload)),
    );
    this.deps.events?.on("licenseStateChanged", (e) => void this.recheckLicense(e.licenseId));
    this.sweepTimer = setInterval(() => void this.sweep(), this.options.sweepMs);
    this.sweepTimer.unref();
    const tick = Math.max(10, Math.min(this.options.helloTimeoutMs, this.options.deadAfterMs) / 4);
    this.livenessTimer = setInterval(() => this.checkLiveness(), tick);
    this.livenessTimer.unref();
  }

  /** Routes `upgrade` events of an http server to the gateway (other paths are refused with 404). */
  attach(server: Server): void {
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? "").split("?")[0];
      if (path !== TUNNEL_PATH) return this.refuse(socket, 404, "no-such-endpoint");
      void this.handleUpgrade(req, socket, head);
    });
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => {});
    this.stats.upgrades++;
    if (this.draining) {
      this.refuse(socket, 503, "draining", randomBetween(this.options.drainRetryAfterMs));
      return;
    }
    if (this.inFlight >= this.options.admission.maxInFlight || !this.bucket.take()) {
      this.refuse(socket, 429, "overloaded", randomBetween(this.options.admission.retryAfterMs));
      return;
    }
    this.inFlight++;
    let admitted = false;
    try {
      admitted = await this.authenticateAndUpgrade(req, socket, head);
    } finally {
      if (!admitted) this.inFlight--;
    }
  }

  /** Returns true when a session was created (it then releases its in-flight slot itself at welcome or close). */
  private async authenticateAndUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<boolean> {
    const protocols = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
    if (!protocols.includes(LINK_SUBPROTOCOL)) return this.refuse(socket, 426, "unsupported-subprotocol");
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    if (!m) return this.refuse(socket, 401, "missing-token");
    if (socket.destroyed) return false;
    let auth: Awaited<ReturnType<AgentTokenVerifier["verify"]>>;
    try {
      auth = await this.verifier.verify(m[1]!, this.deps.clock.now());
    } catch (err) {
      if (err instanceof TunnelAuthError) return this.refuse(socket, err.status, err.reason);
      this.log.error({ err }, "upgrade authentication failed");
      return this.refuse(socket, 500, "internal");
    }
    if (this.draining) return this.refuse(socket, 503, "draining", randomBetween(this.options.drainRetryAfterMs));
    if (socket.destroyed) return false;
    // ws destroys a socket that died mid-handshake without calling back: the slot is released here then.
    const onDeadHandshake = () => {
      this.inFlight--;
    };
    socket.once("close", onDeadHandshake);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // The session owns the slot from here. Removing the listener also frees what this handshake's closures held
      // (the token's claims, a Date) for the life of the socket: bench S1 heap snapshot.
      socket.off("close", onDeadHandshake);
      const s = new Session(this.ctx, ws, auth);
      s.holdsSlot = true;
      this.pending.add(s);
    });
    return true;
  }

  private refuse(socket: Duplex, status: number, reason: string, retryAfterMs?: number): false {
    this.stats.refused[reason] = (this.stats.refused[reason] ?? 0) + 1;
    const body = JSON.stringify({ error: { code: reason, message: reason } });
    const headers = [
      `HTTP/1.1 ${status} ${statusText[status] ?? "Error"}`,
      "Connection: close",
      "Content-Type: application/json",
      `Content-Length: ${Buffer.byteLength(body)}`,
      `X-Refused-Reason: ${reason}`,
    ];
    if (retryAfterMs !== undefined) {
      headers.push(`Retry-After: ${Math.max(1, Math.ceil(retryAfterMs / 1000))}`, `X-Retry-After-Ms: ${retryAfterMs}`);
    }
    if (!socket.destroyed) socket.end(`${headers.join("\r\n")}\r\n\r\n${body}`);
    setTimeout(() => socket.destroy(), 1000).unref();
    return false;
  }

  private releaseSlot(s: Session) {
    if (!s.holdsSlot) return;
    s.holdsSlot = false;
    this.inFlight--;
  }

  /** for tests and metrics */
  get inFlightCount() {
    return this.inFlight;
  }

  /** A bulk enqueue: one query reads the batch's commands for every session held here (instead of a pump each). */
  private async deliverBatch(payload: string) {
    try {
      const { from, to } = JSON.parse(payload) as { from: string; to: string };
      const rows = await pendingCommandsOfBatch(this.db, {
        from,
        to,
        replicaId: this.replicaId,
        now: this.deps.clock.now(),
      });
      let i = 0;
      while (i < rows.length) {
        const applianceId = rows[i]!.applianceId;
        let j = i;
        while (j < rows.length && rows[j]!.applianceId === applianceId) j++;
        this.sessions.get(applianceId)?.deliverCommands(rows.slice(i, j));
        i = j;
      }
    } catch (err) {
      // the sweep's outbox poll still finds these commands
      this.log.warn({ err, payload }, "batch delivery failed");
    }
  }

  private onFence(payload: string) {
    try {
      const { applianceId, epoch, replicaId } = JSON.parse(payload) as {
        applianceId: string;
        epoch: number;
        replicaId: string;
      };
      if (replicaId === this.replicaId) return;
      const s = this.sessions.get(applianceId);
      if (s && s.epoch < epoch) s.close(CloseCode.SUPERSEDED, "superseded by a newer session");
    } catch {
      this.log.warn({ payload }, "bad fence payload");
    }
  }

  private async recheckLicense(licenseId: string) {
    const ids = [...this.sessions.values(), ...this.pending]
      .filter((s) => s.licenseId === licenseId)
      .map((s) => s.applianceId);
    await this.recheck(ids);
  }

  /** Closes (REVOKED) the sessions whose appliance or license no longer allows one. */
  async recheck(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      const refused = await refusedAppliances(this.db, ids, this.deps.clock.now());
      for (const [id, why] of refused) {
        this.sessions.get(id)?.close(CloseCode.REVOKED, why);
        for (const p of this.pending) if (p.applianceId === id) p.close(CloseCode.REVOKED, why);
      }
    } catch (err) {
      this.log.warn({ err }, "license re-check failed");
    }
  }

  private checkLiveness() {
    const t = performance.now();
    for (const s of this.pending) {
      if (s.state === "awaiting-hello" && t - s.openedAt > this.options.helloTimeoutMs) {
        s.close(CloseCode.PROTOCOL_ERROR, "no hello in time");
      }
    }
    for (const s of this.sessions.values()) {
      if (t - s.lastRx > this.options.deadAfterMs) s.close(CloseCode.HEARTBEAT_TIMEOUT, "no frame in time");
    }
  }

  /** One pass of cheap, batched checks over every local session. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const now = this.deps.clock.now();
      const ids = [...this.sessions.keys()];
      await this.recheck(ids);
      const live = [...this.sessions.values()].filter((s) => s.epoch > 0);
      if (live.length > 0) {
        // Presence: one statement for all sessions of this replica. Only rows older than presenceRefreshMs are
        // rewritten, so each held appliance costs one row update per refresh, not one per sweep (bench S1).
        const staleBefore = new Date(now.getTime() - this.options.presenceRefreshMs);
        // The ids go as one array parameter: built with inArray (one parameter each) these statements were most of
        // an idle gateway's CPU (bench S1 profile).
        for (let i = 0; i < live.length; i += 20_000) {
          const ids = pgArray(live.slice(i, i + 20_000).map((s) => s.applianceId));
          await this.db
            .update(appliances)
            .set({ lastSeenAt: now, online: true })
            .where(
              and(
                sql`${appliances.id} = any(${ids}::text[])`,
                eq(appliances.replicaId, this.replicaId),
                or(isNull(appliances.lastSeenAt), lt(appliances.lastSeenAt, staleBefore)),
              ),
            );
          // Outbox safety net, in case a NOTIFY was missed (e.g. the LISTEN connection reconnected).
          const queued = await this.db
            .select({ applianceId: commands.applianceId, seq: max(commands.seq) })
            .from(commands)
            .where(and(sql`${commands.applianceId} = any(${ids}::text[])`, eq(commands.status, "queued")))
            .groupBy(commands.applianceId);
          for (const q of queued) {
            const s = this.sessions.get(q.applianceId);
            if (s && (q.seq ?? 0) > s.lastSentSeq) void s.pump();
          }
        }
      }
      // Sessions of a replica that died without a goodbye: any replica marks them offline once stale.
      await this.db
        .update(appliances)
        .set({ online: false, disconnectedAt: now })
        .where(
          and(
            sql`${appliances.online}`,
            lt(appliances.lastSeenAt, new Date(now.getTime() - this.options.presenceStaleMs)),
          ),
        );
      await expireCommands(this.db, now);
      await pruneStreamChunks(this.db, now);
      await this.verifier.sweep(now);
    } catch (err) {
      this.log.warn({ err }, "sweep failed");
    } finally {
      this.sweeping = false;
    }
  }

  /** Closes one appliance's session here (operators' force-disconnect; other replicas use the state NOTIFY). */
  disconnect(applianceId: string, code: number = CloseCode.NORMAL, reason = "disconnected by the cloud"): boolean {
    const s = this.sessions.get(applianceId);
    s?.close(code, reason);
    return !!s;
  }

  /**
   * Drain for a deploy: refuse new sessions (503 + random Retry-After), send each agent `goaway` with its own
   * random reconnect delay, close, and terminate whatever has not closed by drainTimeoutMs.
   */
  async drain(reason = "gateway draining"): Promise<void> {
    this.draining = true;
    const all = [...this.sessions.values(), ...this.pending];
    const closed = all.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.ws.readyState === s.ws.CLOSED) return resolve();
          s.ws.once("close", () => resolve());
        }),
    );
    for (const s of all) {
      s.send({ type: "goaway", reason, reconnectAfterMs: randomBetween([0, this.options.drainSpreadMs]) });
      s.close(CloseCode.GOING_AWAY, reason);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise<void>((r) => {
        timer = setTimeout(r, this.options.drainTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    for (const s of all) if (s.ws.readyState !== s.ws.CLOSED) s.ws.terminate();
    await this.ingest.flush().catch(() => {});
  }

  /** Stops timers and listeners; call after drain (or alone in tests, which terminates sockets). */
  async close(): Promise<void> {
    this.draining = true;
    clearInterval(this.sweepTimer);
    clearInterval(this.livenessTimer);
    for (const s of [...this.sessions.values(), ...this.pending]) s.ws.terminate();
    for (const u of this.unlisten) await u();
    this.unlisten = [];
    await this.ingest.close().catch(() => {});
    this.wss.close();
  }

  /** Like a crash: sockets dropped without a close frame, queued telemetry discarded unwritten (tests). */
  async kill(): Promise<void> {
    this.draining = true;
    this.ingest.abort();
    clearInterval(this.sweepTimer);
    clearInterval(this.livenessTimer);
    for (const s of [...this.sessions.values(), ...this.pending]) s.ws.terminate();
    for (const u of this.unlisten) await u();
    this.unlisten = [];
    this.wss.close();
  }

  /** Marks this replica's sessions offline in one statement (used on shutdown after drain). */
  async markReplicaOffline(): Promise<void> {
    await this.db
      .update(appliances)
      .set({ online: false, disconnectedAt: this.deps.clock.now() })
      .where(and(eq(appliances.replicaId, this.replicaId), sql`${appliances.online}`));
  }
}

export function createGateway(deps: GatewayDeps, options?: DeepPartialGatewayOptions): Gateway {
  return new Gateway(deps, options);
}
