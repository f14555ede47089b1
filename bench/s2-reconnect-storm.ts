// S2 reconnect storm: every agent connected, the server process is killed (a crash or OOM: no goaway), a new one
// starts on the same port, and every agent reconnects with full jitter; we time until every agent is back and count
// handshakes per second, against a bare `ws` server restarted the same way. Tokens are signed before the restart
// (precomputed handshakes), as a fleet of real agents would each have theirs.
//   npm run bench:s2 -- [--agents 10000] [--per-gateway 19000] [--jitter-ms 5000]
import { parseArgs } from "node:util";
import {
  AUDIENCE,
  type Child,
  createBenchDb,
  enrollFleet,
  exitAll,
  type FleetAgent,
  sleep,
  startClients,
  startServer,
  statusAll,
} from "./lib/procs.ts";
import { cpuSeconds, type Row, report, writeMachineFacts } from "./lib/report.ts";

const { values: a } = parseArgs({
  options: {
    agents: { type: "string", default: "10000" },
    "per-gateway": { type: "string", default: "19000" },
    "jitter-ms": { type: "string", default: "5000" },
    "admission-rate": { type: "string", default: "1000000" },
    name: { type: "string", default: "s2-reconnect-storm" },
  },
});
const N = Number(a.agents);
const perGateway = Number(a["per-gateway"]);
const jitterMs = Number(a["jitter-ms"]);
const rate = Number(a["admission-rate"]);
const gatewayOptions = {
  heartbeatMs: 30_000,
  deadAfterMs: 90_000,
  admission: { ratePerSec: rate, burst: Math.min(rate, 1_000_000), retryAfterMs: [500, jitterMs] },
};
writeMachineFacts();
const db = await createBenchDb();
const { fleet } = await enrollFleet(db, N);

async function storm(kind: "gateway" | "bare", agents: FleetAgent[]) {
  const G = Math.ceil(agents.length / perGateway);
  let servers = [] as (Child & { port: number })[];
  for (let i = 0; i < G; i++)
    servers.push(await startServer(kind, { dbUrl: db.url, options: gatewayOptions, pool: 8 }));
  const ports = servers.map((s) => s.port);
  const perClient = Math.ceil(agents.length / Math.max(1, Math.ceil(agents.length / 19_000)));
  const clients = await startClients(
    agents,
    { host: "127.0.0.1", ports, audience: AUDIENCE, heartbeatMs: 30_000, concurrency: 512, tokens: kind === "gateway" },
    perClient,
  );
  await Promise.all(clients.map((c) => c.request({ op: "connect" }, "connected")));
  const before = await statusAll(clients);
  console.log(`${kind}: ${before.live} live before the restart`);
  await Promise.all(clients.map((c) => c.request({ op: "prepare-all" }, "prepared")));
  await Promise.all(clients.map((c) => c.request({ op: "reconnect", on: true, jitterMs }, "ok")));
  await Promise.all(clients.map((c) => c.request({ op: "take-handshakes" }, "handshakes")));
  const c0 = clients.map((c) => cpuSeconds(c.pid));
  // the restart
  const t0 = performance.now();
  for (const s of servers) s.kill("SIGKILL");
  await Promise.all(servers.map((s) => s.exited));
  servers = [];
  for (const port of ports)
    servers.push(await startServer(kind, { port, dbUrl: db.url, options: gatewayOptions, pool: 8 }));
  const upAt = (performance.now() - t0) / 1000;
  const timeline: [number, number][] = [];
  let st = await statusAll(clients);
  const deadline = performance.now() + 300_000;
  // everyone closed and back: live counts only sessions that received a new welcome
  while (performance.now() < deadline) {
    st = await statusAll(clients);
    timeline.push([(performance.now() - t0) / 1000, st.live]);
    if (st.live >= before.live && timeline.length > 2) break;
    await sleep(250);
  }
  const allBackS = (performance.now() - t0) / 1000;
  const serverCpu = servers.reduce((s, x) => s + cpuSeconds(x.pid), 0);
  const clientCpu = clients.reduce((s, c, i) => s + cpuSeconds(c.pid) - c0[i]!, 0);
  let peak = 0;
  for (let i = 0, j = 0; i < timeline.length; i++) {
    while (timeline[i]![0] - timeline[j]![0] > 1) j++;
    const dt = timeline[i]![0] - timeline[j]![0];
    if (dt >= 0.5) peak = Math.max(peak, (timeline[i]![1] - timeline[j]![1]) / dt);
  }
  const hs = await Promise.all(clients.map((c) => c.request({ op: "take-handshakes" }, "handshakes")));
  const hsMs = hs.flatMap((h) => h.values as number[]).sort((x, y) => x - y);
  const out = {
    before: before.live,
    after: st.live,
    allBackS,
    newServerUpS: upAt,
    handshakesPerSec: st.live / Math.max(0.001, allBackS - upAt),
    peakHandshakesPerSec: peak,
    handshakeP50Ms: hsMs[Math.floor(hsMs.length / 2)] ?? Number.NaN,
    handshakeP99Ms: hsMs[Math.floor(hsMs.length * 0.99)] ?? Number.NaN,
    refusals: st.refusals,
    serverCpu,
    clientCpu,
    timeline,
  };
  console.log(kind, { ...out, timeline: undefined });
  await exitAll(clients);
  await exitAll(servers);
  await sleep(2000);
  return out;
}

const ours = await storm("gateway", fleet);
const bare = await storm("bare", fleet);
await db.drop();

const at100k = (x: { handshakesPerSec: number }) => 100_000 / x.handshakesPerSec;
const rows: Row[] = [
  { metric: "agents back", ours: ours.after, baseline: bare.after, unit: "agents" },
  {
    metric: "time until every agent is back",
    ours: ours.allBackS,
    baseline: bare.allBackS,
    unit: "s",
    goal: N >= 100_000 ? "<= 30 s" : undefined,
    met: N >= 100_000 ? ours.allBackS <= 30 : undefined,
  },
  {
    metric: "handshakes per second (mean, after the server is up)",
    ours: ours.handshakesPerSec,
    baseline: bare.handshakesPerSec,
    unit: "/s",
  },
  {
    metric: "handshakes per second (best 1 s window)",
    ours: ours.peakHandshakesPerSec,
    baseline: bare.peakHandshakesPerSec,
    unit: "/s",
  },
  { metric: "upgrade → welcome p50", ours: ours.handshakeP50Ms, baseline: bare.handshakeP50Ms, unit: "ms" },
  { metric: "upgrade → welcome p99", ours: ours.handshakeP99Ms, baseline: bare.handshakeP99Ms, unit: "ms" },
  {
    metric: "100k back, extrapolated at the mean rate",
    ours: at100k(ours),
    baseline: at100k(bare),
    unit: "s",
    goal: "<= 30 s",
    met: at100k(ours) <= 30,
  },
];
report(a.name!, rows, {
  params: { agents: N, perGateway, jitterMs, gatewayOptions },
  cpuSeconds: {
    "servers after restart": ours.serverCpu,
    "bare after restart": bare.serverCpu,
    "load (gateway run)": ours.clientCpu,
  },
  raw: { ours, bare },
  notes: [
    "restart = SIGKILL of every server process and a new one on the same port; agents reconnect after a uniform random delay in [0, jitter]",
    `admission ${rate}/s per replica for this run; the default is 50/s (burst 100) per replica, which would bring 100k back over ~${Math.round(100_000 / 50 / Math.max(1, Math.ceil(100_000 / perGateway)))} s with ${Math.ceil(100_000 / perGateway)} replicas`,
  ],
});
process.exit(0);
