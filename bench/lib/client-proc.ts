// A load process: holds a share of the fleet as raw connections and answers the coordinator over IPC.
// Started by bench/lib/procs.ts with its own fd limit and source address (127.0.0.N) so ports do not run out.
import { createPrivateKey, type KeyObject } from "node:crypto";
import { signAgentToken } from "../../shared/src/protocol/agent-token.ts";
import { clientFrame, handshakeBytes, helloJson, type RawAgentSpec, RawConn, TimerWheel } from "./raw-client.ts";

export interface ClientInit {
  agents: { id: string; d: string; x: string }[];
  host: string;
  /** agent i uses ports[i % ports.length] */
  ports: number[];
  localAddress?: string;
  audience: string;
  heartbeatMs: number;
  /** connections in the upgrade phase at once */
  concurrency: number;
  /** tokens: none for the bare ws baseline */
  tokens: boolean;
}

interface Agent {
  id: string;
  key: KeyObject;
  port: number;
  conn: RawConn;
  spec: RawAgentSpec;
  /** seq of the last events frame sent */
  eventSeq: number;
  /** the next handshake (fresh token) is already in spec */
  ready: boolean;
}

let init: ClientInit;
let agents: Agent[] = [];
let wheel: TimerWheel | undefined;
let reconnect = false;
let reconnectJitterMs = 1000;
const counters = { live: 0, refused: 0, closed: 0, welcomes: 0, pongs: 0, commands: 0, eventsAcked: 0 };
const closeCodes: Record<string, number> = {};
const refusals: Record<string, number> = {};
let handshakeMs: number[] = [];
let commandRx: [string, number][] = [];
let eventLatMs: number[] = [];
const eventSentAt = new Map<Agent, number[]>();
let inFlight = 0;
const queue: Agent[] = [];
const byConn = new Map<RawConn, Agent>();

const now = () => performance.timeOrigin + performance.now();
const send = (m: unknown) => process.send!(m);

async function prepare(a: Agent) {
  const token = init.tokens
    ? await signAgentToken({ applianceId: a.id, audience: init.audience, privateKey: a.key, ttlSeconds: 300 })
    : undefined;
  a.spec.handshake = handshakeBytes(init.host, a.port, token);
}

/** Starts queued connections up to the concurrency limit; a token is signed just before its use (5 min TTL). */
function pump() {
  while (inFlight < init.concurrency && queue.length > 0) {
    const a = queue.shift()!;
    inFlight++;
    if (a.ready) {
      a.ready = false;
      a.conn.connect(init.host, a.port, init.localAddress);
    } else void prepare(a).then(() => a.conn.connect(init.host, a.port, init.localAddress));
  }
}

let retries = 0;
function schedule(a: Agent, delayMs: number) {
  retries++;
  const go = () => {
    retries--;
    queue.push(a);
    pump();
  };
  if (delayMs <= 0) go();
  else setTimeout(go, delayMs);
}

const events = {
  onLive(c: RawConn) {
    inFlight--;
    counters.live++;
    counters.welcomes++;
    handshakeMs.push(c.liveAt - c.startedAt);
    wheel?.add(c);
    pump();
  },
  onRefused(c: RawConn, status: number, retryAfterMs: number | undefined) {
    inFlight--;
    counters.refused++;
    refusals[status] = (refusals[status] ?? 0) + 1;
    pump();
    // shed (429) or draining (503): come back when told, as the agent does; other refusals are final here
    if (reconnect || status === 429 || status === 503) {
      schedule(byConn.get(c)!, retryAfterMs ?? Math.random() * reconnectJitterMs);
    }
  },
  onClosed(c: RawConn, code: number) {
    const a = byConn.get(c)!;
    if (c.liveAt >= c.startedAt && c.liveAt > 0) counters.live--;
    else inFlight--;
    counters.closed++;
    closeCodes[code] = (closeCodes[code] ?? 0) + 1;
    pump();
    if (reconnect) schedule(a, c.goawayAfterMs ?? Math.random() * reconnectJitterMs);
  },
  onFrame(c: RawConn, kind: string, payload: Buffer) {
    if (kind === "pong") counters.pongs++;
    else if (kind === "command") {
      commandRx.push([c.spec.id, now()]);
      counters.commands++;
      const f = JSON.parse(payload.toString()) as { seq: number };
      c.commandSeq = Math.max(c.commandSeq, f.seq);
      c.send(clientFrame(`{"type":"command.ack","v":1,"upTo":${c.commandSeq}}`));
    } else if (kind === "events.ack") {
      const a = byConn.get(c)!;
      const upTo = Number(/"upTo":(\d+)/.exec(payload.toString())?.[1]);
      const sent = eventSentAt.get(a);
      const t = performance.now();
      // acks are cumulative: every frame up to upTo is committed
      while (sent && sent.length > 0 && a.eventSeq - sent.length + 1 <= upTo) {
        eventLatMs.push(t - sent.shift()!);
        counters.eventsAcked++;
      }
    }
  },
};

function eventsFrame(a: Agent): Buffer {
  a.eventSeq++;
  const at = new Date().toISOString();
  return clientFrame(
    `{"type":"events","v":1,"events":[{"seq":${a.eventSeq},"kind":"bench.tick","at":"${at}","data":{"n":${a.eventSeq},"workload":"orders","ready":true}}]}`,
  );
}

/** Sends `rate` events frames per second spread over the live connections, for `seconds`. */
async function runEvents(rate: number, seconds: number) {
  const live = agents.filter((a) => a.conn.state === "live");
  if (live.length === 0) return 0;
  const tickMs = 10;
  let carry = 0;
  let i = 0;
  let sent = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let last = start;
  await new Promise<void>((done) => {
    const t = setInterval(() => {
      const now = performance.now();
      if (now >= end) {
        clearInterval(t);
        done();
        return;
      }
      // by elapsed time, not per tick: timers fire late on a loaded machine, which made the offered rate fall short
      carry += (rate * (now - last)) / 1000;
      last = now;
      while (carry >= 1) {
        carry--;
        const a = live[i++ % live.length]!;
        if (a.conn.state !== "live") continue;
        const f = eventsFrame(a);
        const q = eventSentAt.get(a);
        if (q) q.push(performance.now());
        else eventSentAt.set(a, [performance.now()]);
        a.conn.send(f);
        sent++;
      }
    }, tickMs);
  });
  return sent;
}

function summary(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, values: s };
}

process.on("message", async (m: { op: string; [k: string]: unknown }) => {
  switch (m.op) {
    case "init": {
      init = m.init as ClientInit;
      agents = init.agents.map((x, i) => {
        const key = createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: x.d, x: x.x }, format: "jwk" });
        const spec: RawAgentSpec = { id: x.id, handshake: Buffer.alloc(0), hello: clientFrame(helloJson(x.id)) };
        const a: Agent = {
          id: x.id,
          key,
          port: init.ports[i % init.ports.length]!,
          spec,
          conn: undefined!,
          eventSeq: 0,
          ready: false,
        };
        a.conn = new RawConn(spec, events);
        byConn.set(a.conn, a);
        return a;
      });
      wheel = new TimerWheel(init.heartbeatMs);
      return send({ op: "ready" });
    }
    case "connect": {
      const t0 = performance.now();
      handshakeMs = [];
      const signMs = 0;
      queue.push(...agents);
      pump();
      await new Promise<void>((r) => {
        const t = setInterval(() => {
          if (counters.live >= agents.length || (queue.length === 0 && inFlight <= 0 && retries === 0)) {
            clearInterval(t);
            r();
          }
        }, 20);
      });
      return send({
        op: "connected",
        live: counters.live,
        refused: counters.refused,
        signMs,
        ms: performance.now() - t0,
      });
    }
    case "prepare-all": {
      const t = performance.now();
      for (const a of agents) {
        await prepare(a);
        a.ready = true;
      }
      return send({ op: "prepared", ms: performance.now() - t });
    }
    case "reconnect":
      reconnect = Boolean(m.on);
      reconnectJitterMs = Number(m.jitterMs ?? 1000);
      return send({ op: "ok" });
    case "status":
      return send({
        op: "status",
        ...counters,
        inFlight,
        queued: queue.length,
        closeCodes,
        refusals,
        pingsSent: wheel?.sent ?? 0,
      });
    case "take-handshakes": {
      const h = summary(handshakeMs);
      handshakeMs = [];
      return send({ op: "handshakes", ...h });
    }
    case "take-commands": {
      const c = commandRx;
      commandRx = [];
      return send({ op: "commands", values: c });
    }
    case "events": {
      eventLatMs = [];
      counters.eventsAcked = 0;
      const sent = await runEvents(Number(m.rate), Number(m.seconds));
      // wait for the last acks (bounded)
      const until = performance.now() + 5000;
      while (counters.eventsAcked < sent && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
      const lat = summary(eventLatMs);
      return send({ op: "events-done", sent, acked: lat.n, latencies: lat.values });
    }
    case "exit":
      wheel?.stop();
      for (const a of agents) a.conn.end();
      setTimeout(() => process.exit(0), 50);
      return;
  }
});
process.on("disconnect", () => process.exit(0));
