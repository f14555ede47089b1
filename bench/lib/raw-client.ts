// A raw-socket WebSocket client for the link protocol, cheap enough to hold tens of thousands of agents per process:
// the upgrade request is precomputed per agent, frames the agent repeats (ping) are masked once and shared, and one
// timer wheel drives every heartbeat. It speaks just enough of RFC 6455 for link v1 (text frames, close, ping/pong).
import { randomBytes } from "node:crypto";
import net from "node:net";
import { LINK_SUBPROTOCOL, TUNNEL_PATH } from "../../shared/src/protocol/frames.ts";

const WS_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const CRLFCRLF = Buffer.from("\r\n\r\n");

/** The HTTP upgrade request of one agent (token included), as bytes. */
export function handshakeBytes(host: string, port: number, token: string | undefined): Buffer {
  return Buffer.from(
    `GET ${TUNNEL_PATH} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${LINK_SUBPROTOCOL}\r\n` +
      (token ? `Authorization: Bearer ${token}\r\n` : "") +
      "\r\n",
  );
}

/** A masked client frame (opcode 1 text by default). */
export function clientFrame(payload: Buffer | string, opcode = 1): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : payload;
  const len = data.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, head);
  for (let i = 0; i < len; i++) out[head + 4 + i] = data[i]! ^ mask[i & 3]!;
  return out;
}

export const helloJson = (applianceId: string, lastCommandSeq = 0) =>
  JSON.stringify({
    type: "hello",
    v: 1,
    applianceId,
    agentVersion: "bench-raw",
    capabilities: [],
    lastCommandSeq,
    lastEventSeq: 0,
    observedGeneration: 0,
    stateDigest: "",
  });

/** Shared by every connection: the heartbeat frame never changes (the cloud echoes t; 0 is fine for a bench). */
export const PING_FRAME = clientFrame(JSON.stringify({ type: "ping", v: 1, t: 0 }));
const CLOSE_FRAME = clientFrame(Buffer.from([0x03, 0xe8]), 8);

const P_WELCOME = Buffer.from('{"type":"welcome"');
const P_PONG = Buffer.from('{"type":"pong"');
const P_COMMAND = Buffer.from('{"type":"command"');
const P_EVENTS_ACK = Buffer.from('{"type":"events.ack"');
const P_GOAWAY = Buffer.from('{"type":"goaway"');

export interface RawAgentSpec {
  id: string;
  /** the upgrade request bytes for the next connection (a token is good for one connection) */
  handshake: Buffer;
  hello: Buffer;
}

export type FrameKind = "welcome" | "pong" | "command" | "events.ack" | "goaway" | "other";

export interface ConnEvents {
  onLive?(c: RawConn): void;
  onRefused?(c: RawConn, status: number, retryAfterMs: number | undefined): void;
  onClosed?(c: RawConn, code: number): void;
  onFrame?(c: RawConn, kind: FrameKind, payload: Buffer): void;
}

/** One agent's connection; `state` moves connecting → upgrading → awaiting-welcome → live → closed. */
export class RawConn {
  readonly spec: RawAgentSpec;
  sock: net.Socket | undefined;
  state: "idle" | "upgrading" | "awaiting-welcome" | "live" | "closed" = "idle";
  private buf: Buffer | undefined;
  closeCode = 0;
  startedAt = 0;
  liveAt = 0;
  commandSeq = 0;
  goawayAfterMs: number | undefined;
  inWheel = false;
  private readonly ev: ConnEvents;

  constructor(spec: RawAgentSpec, ev: ConnEvents) {
    this.spec = spec;
    this.ev = ev;
  }

  connect(host: string, port: number, localAddress?: string): void {
    this.state = "upgrading";
    this.closeCode = 0;
    this.goawayAfterMs = undefined;
    this.buf = undefined;
    this.startedAt = performance.now();
    const sock = net.connect({ host, port, localAddress, noDelay: true });
    this.sock = sock;
    sock.on("connect", () => sock.write(this.spec.handshake));
    sock.on("data", (d) => this.onData(d));
    sock.on("error", () => {});
    sock.on("close", () => {
      if (this.sock !== sock) return;
      const was = this.state;
      this.state = "closed";
      this.sock = undefined;
      if (was !== "closed") this.ev.onClosed?.(this, this.closeCode || 1006);
    });
  }

  send(frame: Buffer): void {
    if (this.state === "live" || this.state === "awaiting-welcome") this.sock?.write(frame);
  }

  end(): void {
    if (!this.sock) return;
    this.sock.destroy();
  }

  private onData(d: Buffer) {
    let b = this.buf ? Buffer.concat([this.buf, d]) : d;
    this.buf = undefined;
    if (this.state === "upgrading") {
      const end = b.indexOf(CRLFCRLF);
      if (end < 0) {
        this.buf = b;
        return;
      }
      const head = b.toString("latin1", 0, end);
      const status = Number(head.slice(9, 12));
      if (status !== 101) {
        const m = /x-retry-after-ms:\s*(\d+)/i.exec(head);
        this.state = "closed";
        this.closeCode = status;
        this.ev.onRefused?.(this, status, m ? Number(m[1]) : undefined);
        this.sock?.destroy();
        return;
      }
      this.state = "awaiting-welcome";
      this.sock!.write(this.spec.hello);
      b = b.subarray(end + 4);
    }
    let off = 0;
    while (b.length - off >= 2) {
      const b0 = b[off]!;
      let len = b[off + 1]! & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (b.length - off < 4) break;
        len = b.readUInt16BE(off + 2);
        hdr = 4;
      } else if (len === 127) {
        if (b.length - off < 10) break;
        len = Number(b.readBigUInt64BE(off + 2));
        hdr = 10;
      }
      if (b.length - off < hdr + len) break;
      const payload = b.subarray(off + hdr, off + hdr + len);
      off += hdr + len;
      this.onFrame(b0 & 0x0f, payload);
      if (this.state === "closed") return;
    }
    if (off < b.length) this.buf = Buffer.from(b.subarray(off));
  }

  private onFrame(opcode: number, payload: Buffer) {
    if (opcode === 1) {
      let kind: FrameKind = "other";
      if (startsWith(payload, P_PONG)) kind = "pong";
      else if (startsWith(payload, P_WELCOME)) {
        kind = "welcome";
        this.state = "live";
        this.liveAt = performance.now();
        this.ev.onLive?.(this);
      } else if (startsWith(payload, P_COMMAND)) kind = "command";
      else if (startsWith(payload, P_EVENTS_ACK)) kind = "events.ack";
      else if (startsWith(payload, P_GOAWAY)) {
        kind = "goaway";
        const m = /"reconnectAfterMs":(\d+)/.exec(payload.toString());
        if (m) this.goawayAfterMs = Number(m[1]);
      }
      this.ev.onFrame?.(this, kind, payload);
    } else if (opcode === 8) {
      this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.sock?.write(CLOSE_FRAME);
      this.sock?.end();
      const s = this.sock;
      this.state = "closed";
      this.sock = undefined;
      this.ev.onClosed?.(this, this.closeCode);
      setTimeout(() => s?.destroy(), 1000).unref();
    } else if (opcode === 9) {
      this.sock?.write(clientFrame(payload, 10));
    }
  }
}

function startsWith(b: Buffer, p: Buffer): boolean {
  if (b.length < p.length) return false;
  for (let i = 0; i < p.length; i++) if (b[i] !== p[i]) return false;
  return true;
}

/** One timer for every heartbeat: each live connection sits in one slot and is pinged once per revolution. */
export class TimerWheel {
  private readonly slots: RawConn[][];
  private cursor = 0;
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  sent = 0;
  constructor(periodMs: number, tickMs = 250) {
    this.slots = Array.from({ length: Math.max(1, Math.round(periodMs / tickMs)) }, () => []);
    this.timer = setInterval(() => this.tick(), tickMs);
  }
  add(c: RawConn) {
    if (c.inWheel) return;
    c.inWheel = true;
    this.slots[this.next++ % this.slots.length]!.push(c);
  }
  private tick() {
    const slot = this.slots[this.cursor]!;
    this.cursor = (this.cursor + 1) % this.slots.length;
    let w = 0;
    for (let i = 0; i < slot.length; i++) {
      const c = slot[i]!;
      if (c.state !== "live") {
        c.inWheel = false;
        continue;
      }
      c.sock?.write(PING_FRAME);
      this.sent++;
      slot[w++] = c;
    }
    slot.length = w;
  }
  stop() {
    clearInterval(this.timer);
  }
}
