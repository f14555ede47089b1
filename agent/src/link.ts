// One tunnel connection: dial (through the proxy agent if any), frame I/O, heartbeat, silence watchdog, and a
// close that always finishes in bounded time (close handshake, then terminate).
import type { Agent as HttpAgent } from "node:http";
import WebSocket from "ws";
import {
  type AgentFrame,
  CloseCode,
  type CloudFrame,
  encodeFrame,
  LINK_SUBPROTOCOL,
  MAX_FRAME_BYTES,
  type Outgoing,
  parseCloudFrame,
} from "../../shared/src/protocol/frames.ts";

export interface DialOptions {
  url: string;
  token: string;
  agent?: HttpAgent;
  ca?: string | Buffer | Array<string | Buffer>;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
}

export type DialFailure = { ok: false; status?: number; retryAfterMs?: number; reason: string };
export type DialResult = { ok: true; link: Link } | DialFailure;

export function dial(opts: DialOptions): Promise<DialResult> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (r: DialResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const ws = new WebSocket(opts.url, LINK_SUBPROTOCOL, {
      headers: { authorization: `Bearer ${opts.token}` },
      agent: opts.agent,
      ca: opts.ca,
      handshakeTimeout: opts.connectTimeoutMs,
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
    });
    // Belt and braces: the proxy CONNECT and TLS happen before ws's own handshake timer matters.
    const timer = setTimeout(() => {
      ws.terminate();
      settle({ ok: false, reason: "connect timeout" });
    }, opts.connectTimeoutMs + 1_000);
    ws.once("unexpected-response", (_req, res) => {
      const ms = Number(res.headers["x-retry-after-ms"]);
      const sec = Number(res.headers["retry-after"]);
      const retryAfterMs =
        Number.isFinite(ms) && ms >= 0 ? ms : Number.isFinite(sec) && sec >= 0 ? sec * 1000 : undefined;
      const reason = String(res.headers["x-refused-reason"] ?? res.statusMessage ?? "refused");
      res.resume();
      ws.terminate();
      settle({ ok: false, status: res.statusCode, retryAfterMs, reason });
    });
    ws.once("error", (err) => settle({ ok: false, reason: err.message }));
    ws.once("close", (code, reason) => settle({ ok: false, reason: `closed ${code} ${reason}` }));
    ws.once("open", () => {
      if (settled) return ws.terminate();
      ws.removeAllListeners("error");
      ws.removeAllListeners("close");
      settle({ ok: true, link: new Link(ws, opts.closeTimeoutMs) });
    });
  });
}

export interface LinkClose {
  code: number;
  reason: string;
}

export class Link {
  private readonly ws: WebSocket;
  private readonly closeTimeoutMs: number;
  lastRx = performance.now();
  readonly closed: Promise<LinkClose>;
  private heartbeat: NodeJS.Timeout | undefined;
  private localClose: LinkClose | undefined;
  onFrame: (f: CloudFrame) => void = () => {};
  /** round trip of the latest heartbeat, and how many heartbeats were answered on this link */
  rttMs: number | undefined;
  pongs = 0;

  constructor(ws: WebSocket, closeTimeoutMs: number) {
    this.ws = ws;
    this.closeTimeoutMs = closeTimeoutMs;
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        this.stopHeartbeat();
        resolve(this.localClose ?? { code, reason: reason.toString() });
      });
    });
    ws.on("error", () => {});
    ws.on("message", (data: Buffer, isBinary) => {
      this.lastRx = performance.now();
      if (isBinary) return this.close(CloseCode.PROTOCOL_ERROR, "binary frame");
      const parsed = parseCloudFrame(data.toString("utf8"), data.length);
      if (!parsed.ok) return this.close(parsed.code, parsed.reason);
      if (parsed.frame.type === "ping") return this.send({ type: "pong", t: parsed.frame.t });
      if (parsed.frame.type === "pong") {
        this.rttMs = Date.now() - parsed.frame.t;
        this.pongs++;
        return;
      }
      this.onFrame(parsed.frame);
    });
  }

  get open() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get bufferedAmount() {
    return this.ws.bufferedAmount;
  }

  send(frame: Outgoing<AgentFrame>): boolean {
    if (!this.open) return false;
    this.ws.send(encodeFrame(frame));
    return true;
  }

  /**
   * Pings every heartbeatMs; closes after deadAfterMs without any inbound frame. Before welcome the caller passes
   * a short deadAfterMs so a gateway that never answers hello is abandoned too.
   */
  startHeartbeat(heartbeatMs: number, deadAfterMs: number, pingEveryTick = true): void {
    this.stopHeartbeat();
    const tick = Math.max(5, Math.min(heartbeatMs, deadAfterMs / 3));
    let sinceLastPing = 0;
    this.heartbeat = setInterval(() => {
      if (performance.now() - this.lastRx > deadAfterMs) {
        this.close(CloseCode.HEARTBEAT_TIMEOUT, "cloud silent");
        return;
      }
      sinceLastPing += tick;
      if (pingEveryTick && sinceLastPing >= heartbeatMs) {
        sinceLastPing = 0;
        this.send({ type: "ping", t: Date.now() });
      }
    }, tick);
    this.heartbeat.unref?.();
  }

  stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** Starts the close handshake and terminates the socket if it does not finish within closeTimeoutMs. */
  close(code: number, reason: string): void {
    this.localClose ??= { code, reason };
    this.stopHeartbeat();
    if (this.ws.readyState === WebSocket.CLOSED) return;
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      this.ws.terminate();
      return;
    }
    setTimeout(() => this.ws.terminate(), this.closeTimeoutMs).unref?.();
  }

  /** Drops the connection at once (no close frame): tests use it to simulate a network cut. */
  terminate(): void {
    this.localClose ??= { code: 1006, reason: "terminated" };
    this.ws.terminate();
  }
}
