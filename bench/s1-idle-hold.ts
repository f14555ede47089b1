// S1 idle hold: how many agents the gateway holds and what each costs (RSS slope after GC, kernel socket memory,
// idle CPU with 30 s heartbeats), against a bare `ws` server with the same heartbeat, in the same run.
//   npm run bench:s1 -- [--agents 20000] [--per-gateway 19000] [--idle-seconds 60] [--heartbeat-ms 30000]
//     [--heap-snapshot <dir>] [--cpu-profile <dir>]
// Several gateway processes (one per --per-gateway agents) and several load processes (127.0.0.2, .3, ...).
import { parseArgs } from "node:util";
import { backendPids, slabUnreclaimable, sumCpu } from "./lib/pg-cpu.ts";
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
import { cpuSeconds, kernelTcpMemBytes, type Row, report, writeMachineFacts } from "./lib/report.ts";

const { values: a } = parseArgs({
  options: {
    agents: { type: "string", default: "20000" },
    "per-gateway": { type: "string", default: "19000" },
    "idle-seconds": { type: "string", default: "60" },
    "heartbeat-ms": { type: "string", default: "30000" },
    "sweep-ms": { type: "string", default: "5000" },
    /** 0 reproduces the gateway before the presence change (every held row rewritten on every sweep) */
    "presence-refresh-ms": { type: "string", default: "30000" },
    "skip-baseline": { type: "boolean", default: false },
    name: { type: "string", default: "s1-idle-hold" },
    /** write a heap snapshot of each server process after the idle window into this directory */
    "heap-snapshot": { type: "string" },
    /** sample each server process's CPU during the idle window into this directory (adds the profiler's own cost) */
    "cpu-profile": { type: "string" },
  },
});
const N = Number(a.agents);
const perGateway = Number(a["per-gateway"]);
const idleSeconds = Number(a["idle-seconds"]);
const heartbeatMs = Number(a["heartbeat-ms"]);
const gatewayOptions = {
  heartbeatMs,
  deadAfterMs: heartbeatMs * 3,
  sweepMs: Number(a["sweep-ms"]),
  presenceRefreshMs: Number(a["presence-refresh-ms"]),
  // the default (50/s, burst 100) spreads a fleet's arrival over minutes on purpose; S1 measures holding, not admission
  admission: { ratePerSec: 1_000_000, burst: 1_000_000 },
};

writeMachineFacts();
const db = await createBenchDb();
console.log(`enrolling ${N} appliances…`);
const t0 = performance.now();
const { fleet } = await enrollFleet(db, N);
console.log(`enrolled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

interface Measure {
  processes: number;
  held: number;
  rssPerAgent: number;
  rssFromEmptyPerAgent: number;
  heapPerAgent: number;
  kernelTcpPerAgent: number;
  slabPerAgent: number;
  connectSeconds: number;
  idleCpuSeconds: number;
  idleCpuPctOfCore: number;
  pgCpuPctOfCore?: number;
  clientCpuPctOfCore: number;
  pongs: number;
  closeCodes: Record<string, number>;
  refusals: Record<string, number>;
  rssTotal: number;
}

async function measure(kind: "gateway" | "bare", agents: FleetAgent[]): Promise<Measure> {
  const servers: (Child & { port: number })[] = [];
  const nServers = Math.ceil(agents.length / perGateway);
  for (let i = 0; i < nServers; i++) {
    servers.push(await startServer(kind, { dbUrl: db.url, options: gatewayOptions, pool: 6 }));
  }
  const mem = async () => Promise.all(servers.map((s) => s.request({ op: "mem" }, "mem")));
  await sleep(1000);
  const m0 = await mem(); // after GC, before any agent
  const tcp0 = kernelTcpMemBytes();
  const slab0 = slabUnreclaimable();
  const perClient = Math.ceil(agents.length / Math.max(2, Math.ceil(agents.length / 19_000)));
  const clients = await startClients(
    agents,
    {
      host: "127.0.0.1",
      ports: servers.map((s) => s.port),
      audience: AUDIENCE,
      heartbeatMs,
      concurrency: 64,
      tokens: kind === "gateway",
    },
    perClient,
  );
  // first half of the load processes, then the rest: the slope between the two points excludes fixed costs
  const half = Math.max(1, Math.floor(clients.length / 2));
  const tc = performance.now();
  await Promise.all(clients.slice(0, half).map((c) => c.request({ op: "connect" }, "connected")));
  let connectSeconds = (performance.now() - tc) / 1000;
  await sleep(3000);
  const m1 = await mem();
  const s1 = await statusAll(clients);
  const tc2 = performance.now();
  await Promise.all(clients.slice(half).map((c) => c.request({ op: "connect" }, "connected")));
  connectSeconds += (performance.now() - tc2) / 1000;
  await sleep(3000);
  const m2 = await mem();
  const s2 = await statusAll(clients);
  const tcp2 = kernelTcpMemBytes();
  const slab2 = slabUnreclaimable();
  const heldNow = m2.reduce((s, m) => s + m.sessions, 0);
  const held1 = m1.reduce((s, m) => s + m.sessions, 0);
  const dHeld = heldNow - held1;
  const slope = (k: "rss" | "heapUsed") =>
    dHeld > 0 ? (m2.reduce((s, m) => s + m[k], 0) - m1.reduce((s, m) => s + m[k], 0)) / dHeld : Number.NaN;
  console.log(
    `${kind}: held ${heldNow} (${s1.live} → ${s2.live} live at the client), connect ${connectSeconds.toFixed(1)} s`,
  );
  // idle: nothing but heartbeats (and, for the gateway, its periodic sweep)
  const pg = kind === "gateway" ? await backendPids(db.url) : [];
  const cpuS0 = servers.map((s) => cpuSeconds(s.pid));
  const cpuC0 = clients.map((c) => cpuSeconds(c.pid));
  const pg0 = sumCpu(pg);
  const p0 = (await statusAll(clients)).pongs;
  const ti = performance.now();
  const profiles = a["cpu-profile"]
    ? Promise.all(
        servers.map((s, i) =>
          s.request(
            { op: "cpu-profile", seconds: idleSeconds, path: `${a["cpu-profile"]}/${a.name}-${kind}-${i}.cpuprofile` },
            "cpu-profile",
          ),
        ),
      )
    : undefined;
  await sleep(idleSeconds * 1000);
  if (profiles) console.log(`cpu profiles: ${(await profiles).map((p) => p.file).join(" ")}`);
  const wall = (performance.now() - ti) / 1000;
  const idleCpu = servers.reduce((s, x, i) => s + cpuSeconds(x.pid) - cpuS0[i]!, 0);
  const clientCpu = clients.reduce((s, x, i) => s + cpuSeconds(x.pid) - cpuC0[i]!, 0);
  const pgCpu = sumCpu(pg) - pg0;
  const s3 = await statusAll(clients);
  const snapshots: string[] = [];
  if (a["heap-snapshot"]) {
    for (const [i, s] of servers.entries()) {
      const path = `${a["heap-snapshot"]}/${a.name}-${kind}-${i}.heapsnapshot`;
      snapshots.push((await s.request({ op: "heap-snapshot", path }, "heap-snapshot")).file as string);
    }
    console.log(`heap snapshots: ${snapshots.join(" ")} (summarise with bench/heap-summary.ts)`);
  }
  const out: Measure = {
    processes: servers.length,
    held: heldNow,
    rssPerAgent: slope("rss"),
    rssFromEmptyPerAgent: (m2.reduce((s, m) => s + m.rss, 0) - m0.reduce((s, m) => s + m.rss, 0)) / heldNow,
    heapPerAgent: slope("heapUsed"),
    kernelTcpPerAgent: (tcp2 - tcp0) / heldNow,
    slabPerAgent: (slab2 - slab0) / heldNow,
    connectSeconds,
    idleCpuSeconds: idleCpu,
    idleCpuPctOfCore: (idleCpu / wall) * 100,
    ...(kind === "gateway" ? { pgCpuPctOfCore: (pgCpu / wall) * 100 } : {}),
    clientCpuPctOfCore: (clientCpu / wall) * 100,
    pongs: s3.pongs - p0,
    closeCodes: s3.closeCodes,
    refusals: s3.refusals,
    rssTotal: m2.reduce((s, m) => s + m.rss, 0),
  };
  await exitAll(clients);
  await exitAll(servers);
  await sleep(2000);
  return out;
}

const ours = await measure("gateway", fleet);
console.log(ours);
// The baseline holds the same number per process (one process is enough for a per-agent cost).
const bare = a["skip-baseline"] ? undefined : await measure("bare", fleet.slice(0, Math.min(N, perGateway)));
console.log(bare);
await db.drop();

const scale = 100_000 / ours.held;
const rows: Row[] = [
  {
    metric: "agents held (total)",
    ours: ours.held,
    baseline: bare?.held,
    unit: "agents",
    goal: "100,000",
    met: ours.held >= 100_000,
  },
  { metric: "server processes", ours: ours.processes, baseline: bare?.processes },
  {
    metric: "RSS slope per agent (after GC)",
    ours: ours.rssPerAgent,
    baseline: bare?.rssPerAgent,
    unit: "bytes",
    goal: "<= 10 KB",
    met: ours.rssPerAgent <= 10_240,
  },
  {
    metric: "RSS growth per agent from empty (after GC)",
    ours: ours.rssFromEmptyPerAgent,
    baseline: bare?.rssFromEmptyPerAgent,
    unit: "bytes",
    goal: "<= 10 KB",
    met: ours.rssFromEmptyPerAgent <= 10_240,
  },
  { metric: "JS heap slope per agent", ours: ours.heapPerAgent, baseline: bare?.heapPerAgent, unit: "bytes" },
  {
    metric: "kernel TCP buffer mem per agent (both ends)",
    ours: ours.kernelTcpPerAgent,
    baseline: bare?.kernelTcpPerAgent,
    unit: "bytes",
  },
  { metric: "kernel slab per agent (both ends)", ours: ours.slabPerAgent, baseline: bare?.slabPerAgent, unit: "bytes" },
  { metric: "connect all", ours: ours.connectSeconds, baseline: bare?.connectSeconds, unit: "s" },
  {
    metric: "idle CPU, server processes",
    ours: ours.idleCpuPctOfCore,
    baseline: bare?.idleCpuPctOfCore,
    unit: "% of a core",
  },
  {
    metric: "idle CPU at 100k (linear), servers",
    ours: ours.idleCpuPctOfCore * scale,
    baseline: bare ? bare.idleCpuPctOfCore * (100_000 / bare.held) : undefined,
    unit: "% of a core",
    goal: "<= 5 %",
    met: ours.idleCpuPctOfCore * scale <= 5,
  },
  { metric: "idle CPU, Postgres backends", ours: ours.pgCpuPctOfCore ?? 0, unit: "% of a core" },
  {
    metric: "idle CPU at 100k (linear), servers + Postgres",
    ours: (ours.idleCpuPctOfCore + (ours.pgCpuPctOfCore ?? 0)) * scale,
    unit: "% of a core",
  },
];
report(a.name!, rows, {
  params: { agents: N, perGateway, heartbeatMs, idleSeconds, gatewayOptions },
  cpuSeconds: {
    "gateways (idle window)": ours.idleCpuSeconds,
    ...(bare ? { "bare ws (idle window)": bare.idleCpuSeconds } : {}),
  },
  raw: { ours, bare },
  notes: [
    "RSS/heap slope: (memory after GC with all agents - with half of them) / agents added, summed over server processes",
    "kernel figures count both ends of each loopback connection (client and server sockets live in one kernel)",
    `gateway sweepMs ${gatewayOptions.sweepMs}: presence UPDATE + outbox poll + license re-check of every held session`,
  ],
});
process.exit(0);
