// The agent core: enrollment, the reconnect loop, and what it does on a live link (commands exactly once,
// desired state, events and metrics). No module-level state: many agents can run in one process.
import { EventEmitter } from "node:events";
import type { Agent as HttpAgent } from "node:http";
import pino, { type Logger } from "pino";
import { signAgentToken } from "../../shared/src/protocol/agent-token.ts";
import { enrollResponseSchema } from "../../shared/src/protocol/enroll.ts";
import {
  CloseCode,
  type CloudFrame,
  type DesiredStateWire,
  desiredStateDigest,
  type FrameOf,
  retryAfterFromReason,
  STREAM_WINDOW,
} from "../../shared/src/protocol/frames.ts";
import { type BackoffOptions, defaultBackoff, fullJitter, sleep } from "./backoff.ts";
import type { ApplyResult, ClusterPort } from "./cluster-port.ts";
import { postJson } from "./http.ts";
import { type AgentKey, type KeyStore, loadOrCreateKey } from "./keystore.ts";
import { dial, type Link, type LinkClose } from "./link.ts";
import { bypassesProxy, ConnectProxyAgent } from "./proxy.ts";
import type { AgentState, ExecutedCommand, StateStore } from "./state-store.ts";
import { EventBuffer, MetricRing, snapshotToSamples } from "./telemetry-buffer.ts";

export const AGENT_VERSION = "0.1.0";
const CAPABILITIES = ["commands.v1", "desired.v1", "events.v1", "metrics.v1", "stream.v1"];

export interface AgentOptions {
  cloudUrl: string;
  /** needed until the agent has enrolled */
  licenseToken?: string;
  keyStore: KeyStore;
  stateStore: StateStore;
  cluster: ClusterPort;
  logger?: Logger;
  clock?: { now(): Date };
  agentVersion?: string;
  name?: string;
  /** PEM bundle trusted for the cloud (enterprise proxies re-sign TLS) */
  ca?: string | Buffer | Array<string | Buffer>;
  /** CONNECT proxy for the cloud URL (HTTPS_PROXY), unless noProxy matches */
  proxyUrl?: string;
  noProxy?: string;
  backoff?: Partial<BackoffOptions>;
  connectTimeoutMs?: number;
  closeTimeoutMs?: number;
  telemetryIntervalMs?: number;
  eventBufferSize?: number;
  metricBufferSize?: number;
  tokenTtlSeconds?: number;
  /** a session that lived this long resets the backoff */
  stableAfterMs?: number;
  random?: () => number;
}

export type AgentPhase = "idle" | "enrolling" | "connecting" | "connected" | "waiting" | "stopped";

export interface AgentStatus {
  phase: AgentPhase;
  applianceId?: string;
  sessionId?: string;
  epoch?: number;
  connects: number;
  failedDials: number;
  lastClose?: LinkClose;
  lastRefusal?: { status?: number; reason: string };
  nextDelayMs?: number;
  eventsBuffered: number;
  eventsDropped: number;
  metricsDropped: number;
  observedGeneration: number;
  /** the live link: heartbeat round trip, heartbeats answered, bytes queued in the socket */
  link?: { rttMs?: number; pongs: number; bufferedBytes: number };
}

export interface AgentEvents {
  connected: [{ sessionId: string; epoch: number }];
  disconnected: [LinkClose];
  refused: [{ status?: number; reason: string }];
  commandFinished: [{ id: string; status: ExecutedCommand["status"] }];
  applied: [ApplyResult];
}

export interface Agent {
  start(): Promise<void>;
  /** closes the link (bounded) and stops every timer */
  stop(): Promise<void>;
  /** records a durable event (kept until the cloud commits it); returns its seq */
  emitEvent(kind: string, data: Record<string, unknown>): Promise<number>;
  status(): AgentStatus;
  readonly events: EventEmitter<AgentEvents>;
  /** resolves when the next (or current) session is live */
  whenConnected(timeoutMs?: number): Promise<void>;
  /** test hooks: drop the connection abruptly */
  dropConnection(): void;
  /**
   * A fetch for the cloud's HTTP endpoints (chart downloads) with a fresh agent JWT; the credential is only sent
   * to the cloud's own origin, never to a chart URL elsewhere.
   */
  cloudFetch(url: string, init?: RequestInit): Promise<Response>;
}

const MAX_RESULT_BYTES = 400_000;
const EVENTS_PER_FRAME = 200;
const SEQ_BLOCK = 1000;
const KEEP_ACKED_RESULTS = 1000;

export function createAgent(opts: AgentOptions): Agent {
  const log = opts.logger ?? pino({ level: "silent" });
  const clock = opts.clock ?? { now: () => new Date() };
  const random = opts.random ?? Math.random;
  const backoff: BackoffOptions = { ...defaultBackoff, ...opts.backoff };
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const closeTimeoutMs = opts.closeTimeoutMs ?? 5_000;
  const stableAfterMs = opts.stableAfterMs ?? 60_000;
  const emitter = new EventEmitter<AgentEvents>();
  const eventsBuf = new EventBuffer(opts.eventBufferSize ?? 10_000);
  const metrics = new MetricRing(opts.metricBufferSize ?? 10_000);
  const cloudUrl = opts.cloudUrl.replace(/\/+$/, "");
  const target = new URL(cloudUrl);
  const httpAgent: HttpAgent | undefined =
    opts.proxyUrl && !bypassesProxy(target, opts.noProxy)
      ? new ConnectProxyAgent({ proxyUrl: opts.proxyUrl, ca: opts.ca, secure: target.protocol === "https:" })
      : undefined;

  let state: AgentState;
  let key: AgentKey;
  let stopped = false;
  const stopCtl = new AbortController();
  let loop: Promise<void> | undefined;
  let link: Link | undefined;
  let live = false;
  let sentEventSeq = 0;
  let nextEventSeq = 0;
  let saveChain: Promise<void> = Promise.resolve();
  let commandChain: Promise<void> = Promise.resolve();
  const inflight = new Map<string, AbortController>();
  /** streaming commands (log follow): chunks sent, the cloud's credit, and who waits for more credit */
  const streams = new Map<string, { sent: number; upTo: number; ended?: string; wake?: () => void }>();
  let applying = false;
  let telemetryTimer: NodeJS.Timeout | undefined;
  const st: AgentStatus = {
    phase: "idle",
    connects: 0,
    failedDials: 0,
    eventsBuffered: 0,
    eventsDropped: 0,
    metricsDropped: 0,
    observedGeneration: 0,
  };

  const save = () => {
    const snapshot = JSON.parse(JSON.stringify(state)) as AgentState;
    saveChain = saveChain
      .then(() => opts.stateStore.save(snapshot))
      .catch((err) => log.error({ err }, "state save failed"));
    return saveChain;
  };

  async function enroll(): Promise<void> {
    if (!opts.licenseToken) throw new Error("not enrolled and no license token configured");
    st.phase = "enrolling";
    const facts = await opts.cluster.facts();
    const res = await postJson(
      `${cloudUrl}/v1/enroll`,
      {
        licenseToken: opts.licenseToken,
        publicKey: key.publicJwk,
        name: opts.name,
        agentVersion: opts.agentVersion ?? AGENT_VERSION,
        facts,
      },
      { agent: httpAgent, ca: opts.ca, timeoutMs: connectTimeoutMs },
    );
    if (res.status !== 200 && res.status !== 201) {
      const msg = (res.body as { error?: { message?: string } })?.error?.message ?? `HTTP ${res.status}`;
      throw Object.assign(new Error(`enrollment refused: ${msg}`), { status: res.status });
    }
    const body = enrollResponseSchema.parse(res.body);
    state.enrollment = { applianceId: body.applianceId, tunnelUrl: body.tunnelUrl, audience: body.audience, cloudUrl };
    await save();
    log.info({ applianceId: body.applianceId, created: body.created }, "enrolled");
  }

  function tunnelUrl(): string {
    // The configured cloud URL wins over the one the cloud advertised (it may sit behind another name).
    const u = new URL(cloudUrl);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.pathname = `${u.pathname.replace(/\/+$/, "")}/v1/tunnel`;
    return u.toString();
  }

  async function runLoop(): Promise<void> {
    let attempt = 0;
    while (!stopped) {
      let delay: number;
      try {
        if (!state.enrollment) await enroll();
        st.phase = "connecting";
        const enrollment = state.enrollment!;
        st.applianceId = enrollment.applianceId;
        const token = await signAgentToken({
          applianceId: enrollment.applianceId,
          audience: enrollment.audience,
          privateKey: key.privateKey,
          ttlSeconds: opts.tokenTtlSeconds,
          now: clock.now(),
        });
        const r = await dial({
          url: tunnelUrl(),
          token,
          agent: httpAgent,
          ca: opts.ca,
          connectTimeoutMs,
          closeTimeoutMs,
        });
        if (stopped) {
          if (r.ok) r.link.close(CloseCode.NORMAL, "agent stopping");
          break;
        }
        if (!r.ok) {
          st.failedDials++;
          st.lastRefusal = { status: r.status, reason: r.reason };
          emitter.emit("refused", st.lastRefusal);
          if (r.status === 403) {
            attempt = 30;
            delay = fullJitter(attempt, backoff, random);
          } else if (r.retryAfterMs !== undefined) {
            delay = r.retryAfterMs;
          } else {
            delay = fullJitter(attempt++, backoff, random);
          }
          log.warn({ status: r.status, reason: r.reason, delay }, "tunnel refused");
        } else {
          const out = await runSession(r.link);
          if (out.liveMs >= stableAfterMs) attempt = 0;
          if (out.goawayMs !== undefined) delay = out.goawayMs;
          else if (out.close.code === CloseCode.REVOKED) {
            attempt = 30;
            delay = fullJitter(attempt, backoff, random);
          } else if (out.close.code === CloseCode.OVERLOADED) {
            delay = retryAfterFromReason(out.close.reason) ?? fullJitter(attempt++, backoff, random);
          } else delay = fullJitter(attempt++, backoff, random);
        }
      } catch (err) {
        const status = (err as { status?: number }).status;
        st.lastRefusal = { status, reason: (err as Error).message };
        delay = fullJitter(
          status && status >= 400 && status < 500 ? Math.max(attempt++, 5) : attempt++,
          backoff,
          random,
        );
        log.warn({ err: (err as Error).message, delay }, "enrollment or dial failed");
      }
      if (stopped) break;
      st.phase = "waiting";
      st.nextDelayMs = delay;
      await sleep(delay, stopCtl.signal);
    }
    st.phase = "stopped";
  }

  async function runSession(l: Link): Promise<{ close: LinkClose; liveMs: number; goawayMs?: number }> {
    link = l;
    let goawayMs: number | undefined;
    let liveSince = 0;
    let stateTimer: NodeJS.Timeout | undefined;
    const facts = await opts.cluster.facts().catch(() => undefined);
    l.onFrame = (f) => {
      if (!live) {
        if (f.type !== "welcome") return l.close(CloseCode.PROTOCOL_ERROR, "expected welcome");
        live = true;
        liveSince = performance.now();
        st.phase = "connected";
        st.connects++;
        st.sessionId = f.sessionId;
        st.epoch = f.epoch;
        l.startHeartbeat(f.heartbeatMs, f.deadAfterMs);
        // Everything not acknowledged is sent again (the cloud de-duplicates by seq). welcome.lastEventSeq is not
        // trusted to prune: a failed batch below a committed one would otherwise be lost.
        sentEventSeq = 0;
        flushEvents();
        flushMetrics();
        stateTimer = setInterval(reportState, f.stateCheckMs);
        stateTimer.unref?.();
        emitter.emit("connected", { sessionId: f.sessionId, epoch: f.epoch });
        return;
      }
      onFrame(f, (ms) => {
        goawayMs = ms;
      });
    };
    l.send({
      type: "hello",
      applianceId: state.enrollment!.applianceId,
      agentVersion: opts.agentVersion ?? AGENT_VERSION,
      capabilities: CAPABILITIES,
      lastCommandSeq: state.lastCommandSeq,
      lastEventSeq: Math.max(0, nextEventSeq),
      observedGeneration: state.observedGeneration,
      stateDigest: desiredStateDigest(state.desired ?? null),
      ...(facts ? { facts } : {}),
    });
    // Until welcome: no pings, and give up if the gateway stays silent.
    l.startHeartbeat(connectTimeoutMs, connectTimeoutMs, false);
    const close = await l.closed;
    clearInterval(stateTimer);
    // A stream lives on one session: its credit and its reader do not survive a reconnect. The command ends with
    // its result (sent on the next session); the operator starts a new follow.
    for (const id of streams.keys()) endStream(id, "tunnel closed");
    const liveMs = live ? performance.now() - liveSince : 0;
    live = false;
    link = undefined;
    st.lastClose = close;
    st.sessionId = undefined;
    emitter.emit("disconnected", close);
    log.info({ code: close.code, reason: close.reason, liveMs: Math.round(liveMs) }, "tunnel closed");
    return { close, liveMs, goawayMs };
  }

  function onFrame(f: CloudFrame, setGoaway: (ms: number) => void) {
    switch (f.type) {
      case "welcome":
        return link?.close(CloseCode.PROTOCOL_ERROR, "welcome sent twice");
      case "command":
        return void receiveCommand(f);
      case "command.result.ack":
        return resultAcked(f.id);
      case "events.ack":
        eventsBuf.ack(f.upTo);
        return;
      case "desired":
        return void receiveDesired(f.desired);
      case "goaway":
        setGoaway(f.reconnectAfterMs);
        return;
      case "stream.credit": {
        const s = streams.get(f.id);
        if (!s) return;
        s.upTo = Math.max(s.upTo, f.upTo);
        s.wake?.();
        return;
      }
      case "stream.cancel":
        return endStream(f.id, f.reason);
      default:
        return;
    }
  }

  // ---- commands: recorded before they run, never run twice, results kept until the cloud stored them ----

  function sendResult(id: string, rec: ExecutedCommand) {
    if (rec.status === "running") return;
    link?.send({ type: "command.result", id, seq: rec.seq, status: rec.status, result: rec.result, error: rec.error });
  }

  function receiveCommand(f: FrameOf<CloudFrame, "command">): Promise<void> {
    commandChain = commandChain.then(async () => {
      const existing = state.executed[f.id];
      if (existing) {
        if (existing.status === "running" && !inflight.has(f.id)) {
          // It was running when the agent restarted: at most once means it is not run again.
          existing.status = "failed";
          existing.error = "interrupted: the agent restarted while this command ran; it was not run again";
          await save();
        }
        link?.send({ type: "command.ack", upTo: state.lastCommandSeq });
        sendResult(f.id, existing);
        return;
      }
      if (f.seq <= state.executedFloor) {
        link?.send({ type: "command.ack", upTo: state.lastCommandSeq });
        return;
      }
      const expired = new Date(f.expiresAt).getTime() <= clock.now().getTime();
      const rec: ExecutedCommand = { seq: f.seq, status: expired ? "expired" : "running" };
      state.executed[f.id] = rec;
      state.lastCommandSeq = Math.max(state.lastCommandSeq, f.seq);
      await save();
      link?.send({ type: "command.ack", upTo: state.lastCommandSeq });
      if (expired) {
        sendResult(f.id, rec);
        return;
      }
      link?.send({ type: "command.status", id: f.id, seq: f.seq, status: "running" });
      const ctl = new AbortController();
      inflight.set(f.id, ctl);
      void execute(f, rec, ctl);
    });
    return commandChain;
  }

  /** Ends a stream: its command's signal aborts with the reason, and a chunk waiting for credit gives up. */
  function endStream(id: string, reason: string) {
    const s = streams.get(id);
    if (!s || s.ended) return;
    s.ended = reason;
    inflight.get(id)?.abort(reason);
    s.wake?.();
  }

  /**
   * Sends one chunk of a command's stream once the cloud's credit allows it (at most STREAM_WINDOW chunks unacknowledged),
   * so a flood of log lines waits here, in the pod-log read, rather than in the socket ahead of heartbeats.
   */
  async function emitChunk(id: string, chunk: string): Promise<void> {
    let s = streams.get(id);
    if (!s) {
      s = { sent: 0, upTo: STREAM_WINDOW };
      streams.set(id, s);
    }
    while (!s.ended && s.sent >= s.upTo) await new Promise<void>((resolve) => (s!.wake = resolve));
    s.wake = undefined;
    if (s.ended) throw new Error(`stream ended: ${s.ended}`);
    if (!live || !link?.send({ type: "stream.data", id, seq: s.sent + 1, data: chunk })) {
      endStream(id, "tunnel closed");
      throw new Error("stream ended: tunnel closed");
    }
    s.sent++;
  }

  async function execute(f: FrameOf<CloudFrame, "command">, rec: ExecutedCommand, ctl: AbortController) {
    try {
      let result = await opts.cluster.runCommand(f.command, f.args, {
        signal: ctl.signal,
        emit: (chunk) => emitChunk(f.id, chunk),
      });
      if (JSON.stringify(result ?? null).length > MAX_RESULT_BYTES) result = { truncated: true };
      rec.status = "succeeded";
      rec.result = result ?? null;
    } catch (err) {
      rec.status = "failed";
      rec.error = String((err as Error)?.message ?? err).slice(0, 8000);
    }
    inflight.delete(f.id);
    streams.delete(f.id);
    await save();
    emitter.emit("commandFinished", { id: f.id, status: rec.status });
    sendResult(f.id, rec);
  }

  function resultAcked(id: string) {
    const rec = state.executed[id];
    if (!rec || rec.status === "running") return;
    rec.acked = true;
    const acked = Object.entries(state.executed).filter(([, r]) => r.acked);
    if (acked.length > KEEP_ACKED_RESULTS * 2) {
      acked.sort((a, b) => a[1].seq - b[1].seq);
      for (const [cid, r] of acked.slice(0, acked.length - KEEP_ACKED_RESULTS)) {
        delete state.executed[cid];
        state.executedFloor = Math.max(state.executedFloor, r.seq);
      }
      void save();
    }
  }

  // ---- desired state: level-triggered; the latest generation wins ----

  async function receiveDesired(d: DesiredStateWire) {
    const held = desiredStateDigest(state.desired ?? null);
    if (held !== desiredStateDigest(d)) {
      if (state.desired && d.generation < state.desired.generation) return;
      state.desired = d;
      await save();
    }
    if (state.observedGeneration < d.generation) void applyLatest();
    else reportState();
  }

  async function applyLatest() {
    if (applying) return;
    applying = true;
    reportState();
    try {
      while (state.desired && state.desired.generation > state.observedGeneration && !stopped) {
        const d = state.desired;
        let result: ApplyResult;
        try {
          result = await opts.cluster.apply(d, () => {}, stopCtl.signal);
        } catch (err) {
          result = { generation: d.generation, outcome: "failed", message: String((err as Error)?.message ?? err) };
        }
        state.observedGeneration = d.generation;
        st.observedGeneration = d.generation;
        await save();
        emitter.emit("applied", result);
        await emitEvent("apply.result", { ...result, generation: d.generation } as unknown as Record<string, unknown>);
      }
    } finally {
      applying = false;
      reportState();
    }
  }

  function reportState() {
    if (!live) return;
    link?.send({
      type: "state.report",
      observedGeneration: state.observedGeneration,
      stateDigest: desiredStateDigest(state.desired ?? null),
      applying,
    });
  }

  // ---- events (durable until acked) and metrics (lossy) ----

  async function emitEvent(kind: string, data: Record<string, unknown>): Promise<number> {
    const seq = ++nextEventSeq;
    if (seq > state.eventSeqReserved) {
      state.eventSeqReserved = seq + SEQ_BLOCK;
      await save();
    }
    eventsBuf.push({ seq, kind, at: clock.now().toISOString(), data });
    flushEvents();
    return seq;
  }

  function flushEvents() {
    if (!live || !link) return;
    for (;;) {
      const batch = eventsBuf.after(sentEventSeq, EVENTS_PER_FRAME);
      if (batch.length === 0) return;
      if (!link.send({ type: "events", events: batch })) return;
      sentEventSeq = batch[batch.length - 1]!.seq;
    }
  }

  function flushMetrics() {
    if (!live || !link) return;
    while (metrics.size > 0) {
      const samples = metrics.take(2000);
      if (!link.send({ type: "metrics", samples, dropped: metrics.dropped })) return;
    }
  }

  async function collectTelemetry() {
    try {
      const snap = await opts.cluster.telemetry();
      for (const s of snapshotToSamples(snap, clock.now().toISOString())) metrics.push(s);
      flushMetrics();
    } catch (err) {
      log.warn({ err }, "telemetry collection failed");
    }
  }

  return {
    events: emitter,
    async cloudFetch(url, init = {}) {
      const enrollment = state?.enrollment;
      if (!enrollment || !key || new URL(url).origin !== new URL(opts.cloudUrl).origin) return fetch(url, init);
      const token = await signAgentToken({
        applianceId: enrollment.applianceId,
        audience: enrollment.audience,
        privateKey: key.privateKey,
        ttlSeconds: 60,
        now: clock.now(),
      });
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${token}`);
      return fetch(url, { ...init, headers });
    },
    async start() {
      if (loop) return;
      state = await opts.stateStore.load();
      key = (await loadOrCreateKey(opts.keyStore)).key;
      nextEventSeq = state.eventSeqReserved;
      st.observedGeneration = state.observedGeneration;
      st.applianceId = state.enrollment?.applianceId;
      const interval = opts.telemetryIntervalMs ?? 15_000;
      telemetryTimer = setInterval(() => void collectTelemetry(), interval);
      telemetryTimer.unref?.();
      if (state.desired && state.desired.generation > state.observedGeneration) void applyLatest();
      loop = runLoop();
    },
    async stop() {
      stopped = true;
      stopCtl.abort();
      clearInterval(telemetryTimer);
      for (const c of inflight.values()) c.abort();
      link?.close(CloseCode.NORMAL, "agent stopping");
      await loop;
      await saveChain;
      httpAgent?.destroy();
    },
    emitEvent,
    status() {
      return {
        ...st,
        eventsBuffered: eventsBuf.size,
        eventsDropped: eventsBuf.dropped,
        metricsDropped: metrics.dropped,
        link: link ? { rttMs: link.rttMs, pongs: link.pongs, bufferedBytes: link.bufferedAmount } : undefined,
      };
    },
    whenConnected(timeoutMs = 30_000) {
      if (live) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          emitter.off("connected", on);
          reject(
            new Error(
              `agent not connected within ${timeoutMs} ms (${st.lastRefusal?.reason ?? st.lastClose?.reason ?? st.phase})`,
            ),
          );
        }, timeoutMs);
        const on = () => {
          clearTimeout(t);
          resolve();
        };
        emitter.once("connected", on);
      });
    },
    dropConnection() {
      link?.terminate();
    },
  };
}
