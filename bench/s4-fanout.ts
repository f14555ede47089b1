// S4 command fan-out: one command to every connected agent through the real outbox (enqueueCommandForAppliances:
// stored in one batch, one NOTIFY, each gateway reads the batch for its sessions in one query and sends it; or, with
// --issue single, enqueueCommand per appliance from --issuers in parallel), issue-to-delivery p50/p99 at the agent
// and acks in the database over time, against a bare `ws.send` loop of the same frame.
//   npm run bench:s4 -- [--agents 10000] [--per-gateway 19000] [--issue bulk|single] [--batch 100000] [--issuers 16]
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import { enqueueCommand, enqueueCommandForAppliances } from "../cloud/src/tunnel/commands.ts";
import { backendPids, sumCpu } from "./lib/pg-cpu.ts";
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
import { cpuSeconds, percentile, type Row, report, writeMachineFacts } from "./lib/report.ts";

const { values: a } = parseArgs({
  options: {
    agents: { type: "string", default: "10000" },
    "per-gateway": { type: "string", default: "19000" },
    issuers: { type: "string", default: "16" },
    /** bulk: enqueueCommandForAppliances over --batch appliances at a time; single: enqueueCommand per appliance */
    issue: { type: "string", default: "bulk" },
    batch: { type: "string", default: "100000" },
    name: { type: "string", default: "s4-fanout" },
  },
});
const N = Number(a.agents);
const perGateway = Number(a["per-gateway"]);
const gatewayOptions = {
  heartbeatMs: 30_000,
  deadAfterMs: 90_000,
  admission: { ratePerSec: 1_000_000, burst: 1_000_000 },
};
writeMachineFacts();
const db = await createBenchDb();
const { fleet, orgId } = await enrollFleet(db, N);
const wall = () => performance.timeOrigin + performance.now();

async function setup(kind: "gateway" | "bare", agents: FleetAgent[]) {
  const G = Math.ceil(agents.length / perGateway);
  const servers = [] as (Child & { port: number })[];
  for (let i = 0; i < G; i++)
    servers.push(await startServer(kind, { dbUrl: db.url, options: gatewayOptions, pool: 8 }));
  const perClient = Math.ceil(agents.length / Math.max(1, Math.ceil(agents.length / 19_000)));
  const clients = await startClients(
    agents,
    {
      host: "127.0.0.1",
      ports: servers.map((s) => s.port),
      audience: AUDIENCE,
      heartbeatMs: 30_000,
      concurrency: 512,
      tokens: kind === "gateway",
    },
    perClient,
  );
  await Promise.all(clients.map((c) => c.request({ op: "connect" }, "connected")));
  await sleep(2000);
  return { servers, clients };
}

async function collect(clients: Child[], expected: number, deadlineMs: number) {
  const rx: [string, number][] = [];
  const until = performance.now() + deadlineMs;
  while (rx.length < expected && performance.now() < until) {
    await sleep(200);
    for (const r of await Promise.all(clients.map((c) => c.request({ op: "take-commands" }, "commands"))))
      rx.push(...(r.values as [string, number][]));
  }
  return rx;
}

// ---- ours ----
const g = await setup("gateway", fleet);
const live = (await statusAll(g.clients)).live;
console.log(`gateway: ${live} live`);
const pg = await backendPids(db.url);
const s0 = g.servers.map((s) => cpuSeconds(s.pid));
const pg0 = sumCpu(pg);
const issuedAt = new Map<string, number>();
const t0 = wall();
const acks: [number, number][] = [];
let issuing = true;
const poll = (async () => {
  while (issuing || acks.length === 0 || acks[acks.length - 1]![1] < live) {
    const [r] = (await db.database.db.execute(
      sql`select count(*)::int as n from commands where status = 'delivered'`,
    )) as unknown as { n: number }[];
    acks.push([(wall() - t0) / 1000, r!.n]);
    if (wall() - t0 > 300_000) break;
    await sleep(250);
  }
})();
let next = 0;
if (a.issue === "single") {
  await Promise.all(
    Array.from({ length: Number(a.issuers) }, async () => {
      while (next < fleet.length) {
        const f = fleet[next++]!;
        issuedAt.set(f.id, wall());
        await enqueueCommand(db.database.db, {
          orgId,
          applianceId: f.id,
          type: "echo",
          args: { n: 1 },
          createdBy: "bench",
          ttlMs: 600_000,
        });
      }
    }),
  );
} else {
  for (let i = 0; i < fleet.length; i += Number(a.batch)) {
    const ids = fleet.slice(i, i + Number(a.batch)).map((f) => f.id);
    const at = wall();
    for (const id of ids) issuedAt.set(id, at);
    await enqueueCommandForAppliances(db.database.db, {
      orgId,
      applianceIds: ids,
      type: "echo",
      args: { n: 1 },
      createdBy: "bench",
      ttlMs: 600_000,
    });
  }
}
const issueSeconds = (wall() - t0) / 1000;
issuing = false;
const rx = await collect(g.clients, live, 300_000);
await poll;
const lat = rx.map(([id, t]) => t - issuedAt.get(id)!).sort((x, y) => x - y);
const fromStart = rx.map(([, t]) => t - t0).sort((x, y) => x - y);
const ours = {
  live,
  delivered: rx.length,
  issueSeconds,
  p50: percentile(lat, 0.5),
  p99: percentile(lat, 0.99),
  allDeliveredS: (fromStart[fromStart.length - 1] ?? Number.NaN) / 1000,
  allAckedS: acks.find(([, n]) => n >= live)?.[0] ?? Number.NaN,
  serverCpu: g.servers.reduce((s, x, i) => s + cpuSeconds(x.pid) - s0[i]!, 0),
  pgCpu: sumCpu(pg) - pg0,
  acks,
};
console.log("gateway", { ...ours, acks: undefined });
await exitAll(g.clients);
await exitAll(g.servers);
await sleep(2000);

// ---- baseline: the same frame by a ws.send loop ----
const b = await setup("bare", fleet.slice(0, Math.min(N, perGateway)));
const bLive = (await statusAll(b.clients)).live;
const frame = JSON.stringify({
  type: "command",
  v: 1,
  id: "cmd_bench",
  seq: 1,
  command: "echo",
  args: { n: 1 },
  expiresAt: new Date(Date.now() + 600_000).toISOString(),
});
const bs0 = cpuSeconds(b.servers[0]!.pid);
const f = await b.servers[0]!.request({ op: "fanout", frame }, "fanout");
const brx = await collect(b.clients, bLive, 60_000);
const blat = brx.map(([, t]) => t - f.issuedAt).sort((x, y) => x - y);
const bare = {
  live: bLive,
  delivered: brx.length,
  p50: percentile(blat, 0.5),
  p99: percentile(blat, 0.99),
  allDeliveredS: (blat[blat.length - 1] ?? Number.NaN) / 1000,
  serverCpu: cpuSeconds(b.servers[0]!.pid) - bs0,
};
console.log("bare", bare);
await exitAll(b.clients);
await exitAll(b.servers);
await db.drop();

const rows: Row[] = [
  { metric: "agents reached", ours: ours.delivered, baseline: bare.delivered, unit: "agents" },
  { metric: "issue (enqueue) of every command", ours: ours.issueSeconds, unit: "s" },
  { metric: "issue-to-delivery p50", ours: ours.p50, baseline: bare.p50, unit: "ms" },
  {
    metric: "issue-to-delivery p99",
    ours: ours.p99,
    baseline: bare.p99,
    unit: "ms",
    goal: "<= 1000 ms",
    met: ours.p99 <= 1000,
  },
  { metric: "first issue to last delivery", ours: ours.allDeliveredS, baseline: bare.allDeliveredS, unit: "s" },
  { metric: "first issue to every ack in the database", ours: ours.allAckedS, unit: "s" },
  { metric: "server CPU", ours: ours.serverCpu, baseline: bare.serverCpu, unit: "s" },
  { metric: "Postgres CPU (bench database backends)", ours: ours.pgCpu, unit: "s" },
];
report(a.name!, rows, {
  params: { agents: N, perGateway, issue: a.issue, batch: Number(a.batch), issuers: Number(a.issuers), gatewayOptions },
  cpuSeconds: { gateways: ours.serverCpu, "Postgres backends": ours.pgCpu, "bare ws": bare.serverCpu },
  raw: { ours, bare },
  notes: [
    a.issue === "single"
      ? "ours: enqueueCommand per appliance (one transaction with its NOTIFY) from the coordinator with --issuers in parallel; each latency runs from that appliance's enqueue call to the frame at the agent"
      : "ours: enqueueCommandForAppliances over --batch appliances (one transaction, one NOTIFY per batch; each gateway reads the batch for its sessions in one query); each latency runs from the batch's enqueue call to the frame at the agent",
    "baseline: one ws.send loop over every socket in the bare server; latency from the loop's start",
  ],
});
process.exit(0);
