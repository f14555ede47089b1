// S3 telemetry ingest: events frames from raw agents into Postgres through the gateway (batched ingest, ack after
// commit), send-to-ack p50/p99, against a bare `ws` server that parses each frame and acks at once (parse-and-drop);
// then the same rows written through drizzle against raw postgres.js.
//   npm run bench:s3 -- [--agents 2000] [--rate 10000] [--seconds 20] [--rows 100000] [--load-procs 1] [--name …]
import { parseArgs } from "node:util";
import { sql as dsql } from "drizzle-orm";
import postgres from "postgres";
import { telemetryEvents } from "../cloud/src/db/schema/index.ts";
import { pgArray } from "../cloud/src/tunnel/telemetry-ingest.ts";
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
} from "./lib/procs.ts";
import { cpuSeconds, percentile, type Row, report, writeMachineFacts } from "./lib/report.ts";

const { values: a } = parseArgs({
  options: {
    agents: { type: "string", default: "2000" },
    rate: { type: "string", default: "10000" },
    seconds: { type: "string", default: "20" },
    rows: { type: "string", default: "100000" },
    batch: { type: "string", default: "1000" },
    /** load processes the agents are spread over (one could not offer 10,000 frames/s on 2 cores) */
    "load-procs": { type: "string", default: "1" },
    name: { type: "string", default: "s3-telemetry" },
    /** only the drizzle / raw postgres.js comparison (writes s3-writes.json) */
    "only-writes": { type: "boolean", default: false },
  },
});
const N = Number(a.agents);
const rate = Number(a.rate);
const seconds = Number(a.seconds);
writeMachineFacts();
const db = await createBenchDb();
const { fleet } = await enrollFleet(db, N);
const gatewayOptions = {
  heartbeatMs: 30_000,
  deadAfterMs: 90_000,
  admission: { ratePerSec: 1_000_000, burst: 1_000_000 },
};

async function ingest(kind: "gateway" | "bare", agents: FleetAgent[]) {
  const server = await startServer(kind, { dbUrl: db.url, options: gatewayOptions, pool: 8 });
  const clients: Child[] = await startClients(
    agents,
    {
      host: "127.0.0.1",
      ports: [server.port],
      audience: AUDIENCE,
      heartbeatMs: 30_000,
      concurrency: 64,
      tokens: kind === "gateway",
    },
    Math.ceil(agents.length / Number(a["load-procs"])),
  );
  await Promise.all(clients.map((c) => c.request({ op: "connect" }, "connected")));
  // warm-up at a tenth of the rate
  await Promise.all(clients.map((c) => c.request({ op: "events", rate: rate / 10, seconds: 2 }, "events-done")));
  const pg = kind === "gateway" ? await backendPids(db.url) : [];
  const s0 = cpuSeconds(server.pid);
  const c0 = clients.map((c) => cpuSeconds(c.pid));
  const pg0 = sumCpu(pg);
  const t0 = performance.now();
  const rs = await Promise.all(
    clients.map((c) => c.request({ op: "events", rate: rate / clients.length, seconds }, "events-done")),
  );
  const wall = (performance.now() - t0) / 1000;
  const lat = rs.flatMap((r) => r.latencies as number[]).sort((x, y) => x - y);
  const sent = rs.reduce((s, r) => s + r.sent, 0);
  const acked = rs.reduce((s, r) => s + r.acked, 0);
  const stats = await server.request({ op: "stats" }, "stats");
  const out = {
    sent,
    acked,
    ackedPerSec: acked / seconds,
    p50: percentile(lat, 0.5),
    p99: percentile(lat, 0.99),
    max: lat[lat.length - 1] ?? Number.NaN,
    serverCpu: cpuSeconds(server.pid) - s0,
    clientCpu: clients.reduce((s, c, i) => s + cpuSeconds(c.pid) - c0[i]!, 0),
    pgCpu: sumCpu(pg) - pg0,
    wall,
    ingest: stats.ingest,
  };
  console.log(kind, out);
  await exitAll(clients);
  await exitAll([server]);
  return out;
}

const onlyWrites = a["only-writes"]!;
const ours = onlyWrites ? undefined : await ingest("gateway", fleet);
const [{ n: stored } = { n: 0 }] = (await db.database.db.execute(
  dsql`select count(*)::int as n from telemetry_events`,
)) as unknown as { n: number }[];
const bare = onlyWrites ? undefined : await ingest("bare", fleet);

// drizzle against raw postgres.js: the same rows, the same statement shape (multi-row insert, on conflict do nothing)
const rowsN = Number(a.rows);
const batch = Number(a.batch);
const ids = fleet.slice(0, 100).map((f) => f.id);
// a plain postgres.js client: drizzle's driver replaces the date and json serializers of the client it wraps
const pgc = postgres(db.url, { max: 1, onnotice: () => {} });
async function write(how: "drizzle" | "drizzle-unnest" | "raw" | "raw-unnest", base: number) {
  const t = performance.now();
  for (let i = 0; i < rowsN; i += batch) {
    const rows = [];
    for (let j = i; j < Math.min(rowsN, i + batch); j++) {
      rows.push({
        applianceId: ids[j % ids.length]!,
        seq: base + j,
        kind: "bench.tick",
        at: new Date(),
        data: { n: j, workload: "orders", ready: true },
      });
    }
    if (how === "drizzle") await db.database.db.insert(telemetryEvents).values(rows).onConflictDoNothing();
    else if (how === "drizzle-unnest") {
      // the ingest's statement: one array parameter per column (a prepared statement of 5 parameters)
      await db.database.db.execute(dsql`
        insert into telemetry_events (appliance_id, seq, kind, at, data)
        select * from unnest(
          ${pgArray(rows.map((r) => r.applianceId))}::text[],
          ${pgArray(rows.map((r) => String(r.seq)))}::bigint[],
          ${pgArray(rows.map((r) => r.kind))}::text[],
          ${pgArray(rows.map((r) => r.at.toISOString()))}::timestamptz[],
          ${pgArray(rows.map((r) => JSON.stringify(r.data)))}::jsonb[])
        on conflict do nothing`);
    } else if (how === "raw-unnest") {
      await pgc`
        insert into telemetry_events (appliance_id, seq, kind, at, data)
        select * from unnest(
          ${pgArray(rows.map((r) => r.applianceId))}::text[],
          ${pgArray(rows.map((r) => String(r.seq)))}::bigint[],
          ${pgArray(rows.map((r) => r.kind))}::text[],
          ${pgArray(rows.map((r) => r.at.toISOString()))}::timestamptz[],
          ${pgArray(rows.map((r) => JSON.stringify(r.data)))}::jsonb[])
        on conflict do nothing`;
    } else {
      await pgc`insert into telemetry_events ${pgc(
        rows.map((r) => ({ appliance_id: r.applianceId, seq: r.seq, kind: r.kind, at: r.at, data: r.data })),
        "appliance_id",
        "seq",
        "kind",
        "at",
        "data",
      )} on conflict do nothing`;
    }
  }
  return rowsN / ((performance.now() - t) / 1000);
}
const drizzleRuns: number[] = [];
const unnestRuns: number[] = [];
const rawUnnestRuns: number[] = [];
const rawRuns: number[] = [];
await write("raw", 10_000_000); // warm-up
for (let r = 0; r < 3; r++) {
  drizzleRuns.push(await write("drizzle", 10_000_000 + (2 * r + 1) * rowsN));
  rawRuns.push(await write("raw", 10_000_000 + (2 * r + 2) * rowsN));
  unnestRuns.push(await write("drizzle-unnest", 20_000_000 + r * rowsN));
  rawUnnestRuns.push(await write("raw-unnest", 30_000_000 + r * rowsN));
}
const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const drizzleRate = med(drizzleRuns);
const rawRate = med(rawRuns);
const unnestRate = med(unnestRuns);
const rawUnnestRate = med(rawUnnestRuns);
await sleep(200);
await pgc.end();
await db.drop();

const ingestRows: Row[] =
  ours && bare
    ? [
        {
          metric: "events acked per second (offered rate)",
          ours: ours.ackedPerSec,
          baseline: bare.ackedPerSec,
          unit: "msg/s",
          goal: `>= 10,000 (offered ${rate})`,
          met: ours.ackedPerSec >= 10_000 * 0.98,
        },
        { metric: "send-to-ack (receive-to-commit) p50", ours: ours.p50, baseline: bare.p50, unit: "ms" },
        {
          metric: "send-to-ack (receive-to-commit) p99",
          ours: ours.p99,
          baseline: bare.p99,
          unit: "ms",
          goal: "<= 1000 ms",
          met: ours.p99 <= 1000,
        },
        {
          metric: "server CPU per 10k messages",
          ours: (ours.serverCpu / ours.acked) * 10_000,
          baseline: (bare.serverCpu / bare.acked) * 10_000,
          unit: "s",
        },
        { metric: "Postgres CPU per 10k messages", ours: (ours.pgCpu / ours.acked) * 10_000, unit: "s" },
      ]
    : [];
const rows: Row[] = [
  ...ingestRows,
  { metric: "rows/s written: drizzle vs raw postgres.js", ours: drizzleRate, baseline: rawRate, unit: "rows/s" },
  {
    metric: "time per row: drizzle / raw postgres.js",
    ours: rawRate / drizzleRate,
    baseline: 1,
    ratio: rawRate / drizzleRate,
    goal: "<= 1.10",
    met: rawRate / drizzleRate <= 1.1,
  },
  {
    metric: "time per row, the ingest's unnest statement: drizzle / raw postgres.js",
    ours: rawUnnestRate / unnestRate,
    baseline: 1,
    ratio: rawUnnestRate / unnestRate,
    goal: "<= 1.10",
    met: rawUnnestRate / unnestRate <= 1.1,
  },
  {
    metric: "time per row: drizzle with the ingest's unnest statement / raw postgres.js multi-row",
    ours: rawRate / unnestRate,
    baseline: 1,
    ratio: rawRate / unnestRate,
    goal: "<= 1.10",
    met: rawRate / unnestRate <= 1.1,
  },
];
report(onlyWrites ? "s3-writes" : a.name!, rows, {
  params: { agents: N, rate, seconds, rows: rowsN, batch, loadProcs: Number(a["load-procs"]), gatewayOptions },
  cpuSeconds:
    ours && bare
      ? {
          "gateway (measured window)": ours.serverCpu,
          "bare ws": bare.serverCpu,
          "Postgres backends": ours.pgCpu,
          "load (gateway run)": ours.clientCpu,
        }
      : {},
  raw: { ours, bare, drizzleRuns, rawRuns, unnestRuns, rawUnnestRuns, storedRows: stored },
  notes: [
    "latency is measured at the agent: events frame written → events.ack read; the gateway acks after the batch commit",
    "the bare server acks each frame as soon as it has parsed it (nothing stored): the floor of the transport",
  ],
});
process.exit(0);
