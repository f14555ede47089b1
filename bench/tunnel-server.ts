// Child process of bench/tunnel.ts: serves either our cloud (gateway + API on PGlite, or Postgres with
// BENCH_TUNNEL_DATABASE_URL) or a bare `ws` server, and answers the coordinator over IPC (memory, frame counts).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { calculateJwkThumbprint } from "jose";
import { WebSocketServer } from "ws";
import { generateAgentKey, keyToJwk } from "../agent/src/keystore.ts";
import { migrateDatabase, openDatabase } from "../cloud/src/db/client.ts";
import { appliances, licenses } from "../cloud/src/db/schema/index.ts";
import { newId } from "../shared/src/ids.ts";
import { issueLicense, startTunnelCloud } from "../test/tunnel/harness.ts";

type Msg = { op: "mem" } | { op: "count" } | { op: "exit" };
const mode = process.argv[2] as "ours" | "baseline";
const n = Number(process.argv[3] ?? "500");
const send = (m: unknown) => process.send!(m);

function mem() {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}

async function ours() {
  const database = await openDatabase(
    process.env.BENCH_TUNNEL_DATABASE_URL ? { databaseUrl: process.env.BENCH_TUNNEL_DATABASE_URL } : { inMemory: true },
  );
  await migrateDatabase(database);
  const tc = await startTunnelCloud({
    database,
    gateway: {
      heartbeatMs: 20_000,
      deadAfterMs: 60_000,
      sweepMs: 5_000,
      stateCheckMs: 15 * 60_000,
      admission: { ratePerSec: 100_000, burst: 100_000, maxInFlight: 256 },
      ingest: { flushMs: 50, maxRows: 5_000 },
    },
  });
  const { licenseId } = await issueLicense(tc, { maxHubs: 100 });
  const [lic] = await database.db
    .select()
    .from(licenses)
    .where((await import("drizzle-orm")).eq(licenses.id, licenseId));
  const fleet = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const key = generateAgentKey();
      return { id: newId("appliance"), key, tp: await calculateJwkThumbprint(key.publicJwk), i };
    }),
  );
  for (let i = 0; i < fleet.length; i += 1000) {
    await database.db.insert(appliances).values(
      fleet.slice(i, i + 1000).map((f) => ({
        id: f.id,
        orgId: lic!.orgId,
        customerId: lic!.customerId,
        licenseId,
        name: `bench-${f.i}`,
        publicKey: f.key.publicJwk,
        keyThumbprint: f.tp,
      })),
    );
  }
  const counted = () => {
    let frames = 0;
    for (const s of tc.gateway.sessions.values()) frames += s.counters.framesIn;
    return { frames, samplesCommitted: tc.gateway.ingest.stats.samples, sessions: tc.gateway.sessions.size };
  };
  return {
    port: tc.port,
    url: tc.url,
    fleet: fleet.map((f) => ({ id: f.id, jwk: keyToJwk(f.key) })),
    counted,
    flush: () => tc.gateway.ingest.flush(),
  };
}

async function baseline() {
  let frames = 0;
  let sessions = 0;
  const server = createServer((_q, r) => r.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1_048_576, perMessageDeflate: false });
  server.on("upgrade", (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      sessions++;
      ws.on("message", (data) => {
        JSON.parse(data.toString());
        frames++;
      });
      ws.on("close", () => sessions--);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    fleet: [],
    counted: () => ({ frames, samplesCommitted: 0, sessions }),
    flush: async () => {},
  };
}

const before = mem();
const s = mode === "ours" ? await ours() : await baseline();
send({ op: "ready", port: s.port, url: s.url, fleet: s.fleet, memBefore: mem(), memBoot: before });
process.on("message", async (m: Msg) => {
  if (m.op === "mem") send({ op: "mem", mem: mem() });
  if (m.op === "count") {
    await s.flush();
    send({ op: "count", ...s.counted() });
  }
  if (m.op === "exit") process.exit(0);
});
