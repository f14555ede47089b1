// A server process under test: `gateway` (our tunnel gateway on Postgres, as a replica runs it) or `bare` (a bare
// `ws` server with the same subprotocol and heartbeat: hello → welcome, ping → pong, events parsed and dropped with
// an immediate ack). Controlled by the coordinator over IPC; started with --expose-gc so memory is read after GC.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { type WebSocket, WebSocketServer } from "ws";
import { openDatabase } from "../../cloud/src/db/client.ts";
import { createGateway, type DeepPartialGatewayOptions, type Gateway } from "../../cloud/src/gateway/gateway.ts";
import { systemClock } from "../../cloud/src/lib/clock.ts";
import { LINK_SUBPROTOCOL, MAX_FRAME_BYTES } from "../../shared/src/protocol/frames.ts";

const kind = process.argv[2] as "gateway" | "bare";
const port = Number(process.argv[3] ?? 0);
const gatewayOptions = JSON.parse(process.argv[4] ?? "{}") as DeepPartialGatewayOptions & { publicUrl?: string };
const databaseUrl = process.env.BENCH_DB_URL;

const server = createServer((_req, res) => {
  res.statusCode = 404;
  res.end();
});
let gateway: Gateway | undefined;
let closeDb: (() => Promise<void>) | undefined;
const bare = new Set<WebSocket>();

if (kind === "gateway") {
  const database = await openDatabase({ databaseUrl, poolSize: Number(process.env.BENCH_POOL ?? 8) });
  closeDb = database.close;
  const { publicUrl = "http://bench.invalid", ...options } = gatewayOptions;
  gateway = createGateway(
    { database, logger: pino({ level: process.env.BENCH_LOG_LEVEL ?? "silent" }), clock: systemClock, publicUrl },
    options,
  );
  await gateway.start();
  gateway.attach(server);
} else {
  const heartbeatMs = gatewayOptions.heartbeatMs ?? 30_000;
  const wss = new WebSocketServer({
    server,
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (p) => (p.has(LINK_SUBPROTOCOL) ? LINK_SUBPROTOCOL : false),
  });
  let session = 0;
  wss.on("connection", (ws) => {
    bare.add(ws);
    ws.on("close", () => bare.delete(ws));
    ws.on("error", () => {});
    ws.on("message", (data) => {
      const f = JSON.parse(String(data)) as { type: string; t?: number; events?: { seq: number }[] };
      if (f.type === "ping") ws.send(JSON.stringify({ type: "pong", v: 1, t: f.t }));
      else if (f.type === "hello")
        ws.send(
          JSON.stringify({
            type: "welcome",
            v: 1,
            sessionId: `s${++session}`,
            epoch: 1,
            heartbeatMs,
            deadAfterMs: heartbeatMs * 3,
            stateCheckMs: 900_000,
            limits: { maxFrameBytes: MAX_FRAME_BYTES },
            lastEventSeq: 0,
            serverTime: new Date().toISOString(),
          }),
        );
      else if (f.type === "events") {
        const upTo = f.events?.reduce((m, e) => Math.max(m, e.seq), 0) ?? 0;
        ws.send(JSON.stringify({ type: "events.ack", v: 1, upTo }));
      }
    });
  });
}

await new Promise<void>((r) => server.listen({ port, host: "127.0.0.1", backlog: 4096 }, r));
process.send!({ op: "listening", port: (server.address() as AddressInfo).port, pid: process.pid });

function gcMemory() {
  const g = (globalThis as { gc?: () => void }).gc;
  g?.();
  g?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

process.on("message", async (m: { op: string; frame?: string }) => {
  switch (m.op) {
    case "mem":
      return process.send!({ op: "mem", ...gcMemory(), sessions: gateway ? gateway.sessions.size : bare.size });
    case "stats":
      return process.send!({
        op: "stats",
        sessions: gateway ? gateway.sessions.size : bare.size,
        gateway: gateway?.stats,
        ingest: gateway?.ingest.stats,
      });
    case "fanout": {
      // the baseline of S4: a bare ws.send loop over every socket
      const t = performance.timeOrigin + performance.now();
      for (const ws of bare) ws.send(m.frame!);
      return process.send!({ op: "fanout", issuedAt: t, n: bare.size });
    }
    case "cpu-profile": {
      // sample this process for `seconds` and write a .cpuprofile (bench/cpu-summary.ts reads it)
      const { seconds, path } = m as unknown as { seconds: number; path: string };
      const inspector = await import("node:inspector/promises");
      const { writeFileSync } = await import("node:fs");
      const session = new inspector.Session();
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(path, JSON.stringify(profile));
      session.disconnect();
      return process.send!({ op: "cpu-profile", file: path });
    }
    case "heap-snapshot": {
      // after GC; for bench/heap-summary.ts (what the held sessions are made of)
      (globalThis as { gc?: () => void }).gc?.();
      const { writeHeapSnapshot } = await import("node:v8");
      return process.send!({ op: "heap-snapshot", file: writeHeapSnapshot((m as { path?: string }).path) });
    }
    case "drain":
      await gateway?.drain("bench restart");
      return process.send!({ op: "drained" });
    case "exit":
      if (gateway) await gateway.close().catch(() => {});
      await closeDb?.().catch(() => {});
      process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
