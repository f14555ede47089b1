// Fleet list benchmark: seeds 100,000 appliances (2,000 customers, two channels, ten releases) in a fresh Postgres
// database, then times filtered, sorted fleet-list pages two ways in the same run: through the API's query
// (queryFleet: drizzle, the joins, versions behind, keyset cursor) and the same page written by hand in SQL.
// Reports p50/p99 per query shape and the ratio; the goal is p99 <= 50 ms for the API's query.
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/fleet-list.ts [--n 100000] [--iterations 200]
// (TEST_DATABASE_URL works too.) The database named in the URL is only used to create and drop a fresh one.
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { migrateDatabase, openDatabase } from "../cloud/src/db/client.ts";
import { versionKey } from "../cloud/src/rollouts/version.ts";
import { type FleetListInput, queryFleet, syncFleetAppliances } from "../cloud/src/services/fleet.ts";

const { values: args } = parseArgs({
  options: {
    n: { type: "string", default: "100000" },
    iterations: { type: "string", default: "200" },
    keep: { type: "boolean", default: false },
  },
});
const N = Number(args.n);
const ITER = Number(args.iterations);
const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (!adminUrl) {
  console.error(
    "set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a Postgres server the benchmark may create a database on",
  );
  process.exit(2);
}

const ORG = "org_01BENCH0000000000000000000";
const CUSTOMERS = 2000;
const k8s = ["v1.29.9+k3s1", "v1.30.6+k3s1", "v1.31.4+k3s1", "v1.32.1"];

async function main() {
  const dbName = `bench_fleet_${randomBytes(4).toString("hex")}`;
  const admin = postgres(adminUrl!, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${dbName}`);
  const url = new URL(adminUrl!);
  url.pathname = `/${dbName}`;
  const database = await openDatabase({ databaseUrl: url.toString(), poolSize: 4 });
  const raw = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    await migrateDatabase(database);
    const t0 = performance.now();
    await seed(raw);
    await syncFleetAppliances(database.db, new Date());
    await raw`analyze`;
    console.log(`seeded ${N} appliances in ${((performance.now() - t0) / 1000).toFixed(1)} s (database ${dbName})`);

    const [cust] = await raw`select id from customers where org_id = ${ORG} order by id limit 1 offset 17`;
    const customerId = cust!.id as string;
    const shapes: Array<{
      name: string;
      input: Omit<FleetListInput, "limit">;
      hand: (cursor?: HandCursor) => postgres.PendingQuery<postgres.Row[]>;
    }> = [
      {
        name: "all, sort name",
        input: { sort: "name" },
        hand: (c) => handQuery(raw, { order: "a.name", dir: "asc", cursor: c }),
      },
      {
        name: "offline, sort -lastSeen",
        input: { status: "offline", sort: "-lastSeen" },
        hand: (c) =>
          handQuery(raw, {
            where: raw`and not a.online`,
            order: "coalesce(a.last_seen_at, 'epoch'::timestamptz)",
            dir: "desc",
            cursor: c,
            ts: true,
          }),
      },
      {
        name: "degraded, sort name",
        input: { status: "degraded", sort: "name" },
        hand: (c) =>
          handQuery(raw, {
            where: raw`and a.online and (a.last_apply->>'outcome') in ('failed','rolled-back')`,
            order: "a.name",
            dir: "asc",
            cursor: c,
          }),
      },
      {
        name: "channel beta, sort -version",
        input: { channel: "beta", sort: "-version" },
        hand: (c) =>
          handQuery(raw, {
            where: raw`and f.org_id = ${ORG} and f.channel = 'beta'`,
            order: "coalesce(f.version_key, '')",
            dir: "desc",
            cursor: c,
            tie: "f.appliance_id",
            inner: true,
          }),
      },
      {
        name: "customer, sort lastSeen",
        input: { customerId, sort: "lastSeen" },
        hand: (c) =>
          handQuery(raw, {
            where: raw`and a.customer_id = ${customerId}`,
            order: "coalesce(a.last_seen_at, 'epoch'::timestamptz)",
            dir: "asc",
            cursor: c,
            ts: true,
          }),
      },
      {
        name: "tag gold, sort name",
        input: { tag: "gold", sort: "name" },
        hand: (c) =>
          handQuery(raw, { where: raw`and c.tags @> '["gold"]'::jsonb`, order: "a.name", dir: "asc", cursor: c }),
      },
      {
        name: "k8s v1.29, sort -lastSeen",
        input: { k8sVersion: k8s[0], sort: "-lastSeen" },
        hand: (c) =>
          handQuery(raw, {
            where: raw`and (a.facts->>'kubernetesVersion') = ${k8s[0]!}`,
            order: "coalesce(a.last_seen_at, 'epoch'::timestamptz)",
            dir: "desc",
            cursor: c,
            ts: true,
          }),
      },
      {
        name: "3+ versions behind, sort name",
        input: { minVersionsBehind: 3, sort: "name" },
        hand: (c) =>
          handQuery(raw, {
            where: raw`and f.release_seq is not null and (select count(*) from releases r where r.org_id = f.org_id and r.channel = f.channel and r.state = 'published' and r.seq > f.release_seq) >= 3`,
            order: "a.name",
            dir: "asc",
            cursor: c,
          }),
      },
      {
        name: "search q=appliance-0421",
        input: { q: "appliance-0421", sort: "name" },
        hand: (c) =>
          handQuery(raw, {
            where: raw`and (a.name ilike '%appliance-0421%' or a.id = 'appliance-0421')`,
            order: "a.name",
            dir: "asc",
            cursor: c,
          }),
      },
    ];

    console.log(`\n${ITER} pages of 50 per shape (first and fifth page alternate), p50 / p99 in ms`);
    console.log(
      `${"shape".padEnd(32)} ${"api p50".padStart(8)} ${"api p99".padStart(8)} ${"sql p50".padStart(8)} ${"sql p99".padStart(8)}  ratio p99  goal`,
    );
    let worst = 0;
    for (const s of shapes) {
      // the cursor of page 5 (deep pages must cost the same as the first with keyset pagination)
      let cursor: string | undefined;
      let handCursor: HandCursor | undefined;
      for (let p = 0; p < 4; p++) {
        const page = await queryFleet(database.db, ORG, { ...s.input, limit: 50, cursor });
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
        handCursor = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as HandCursor;
      }
      const api: number[] = [];
      const hand: number[] = [];
      for (let i = 0; i < ITER + 10; i++) {
        const deep = i % 2 === 1;
        let t = performance.now();
        await queryFleet(database.db, ORG, { ...s.input, limit: 50, cursor: deep ? cursor : undefined });
        const a = performance.now() - t;
        t = performance.now();
        await s.hand(deep ? handCursor : undefined);
        const h = performance.now() - t;
        if (i >= 10) {
          api.push(a);
          hand.push(h);
        }
      }
      const ap99 = pct(api, 99);
      const hp99 = pct(hand, 99);
      worst = Math.max(worst, ap99);
      console.log(
        `${s.name.padEnd(32)} ${pct(api, 50).toFixed(2).padStart(8)} ${ap99.toFixed(2).padStart(8)} ${pct(hand, 50).toFixed(2).padStart(8)} ${hp99.toFixed(2).padStart(8)}  ${(ap99 / hp99).toFixed(2).padStart(9)}  ${ap99 <= 50 ? "ok" : "OVER"}`,
      );
    }
    console.log(`\nworst api p99: ${worst.toFixed(2)} ms (goal 50 ms): ${worst <= 50 ? "met" : "NOT met"}`);
  } finally {
    await raw.end({ timeout: 5 });
    await database.close();
    if (!args.keep) await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end({ timeout: 5 });
  }
}

interface HandCursor {
  k: string | null;
  id: string;
}

const COLUMNS = `a.id, a.name, a.customer_id, c.name as customer_name, c.tags,
  case when not a.online then 'offline' when (a.last_apply->>'outcome') in ('failed','rolled-back') then 'degraded' else 'online' end as status,
  a.last_seen_at, a.agent_version, f.chart_version, f.release_id, coalesce(f.channel, l.entitlements->>'updateChannel') as channel,
  f.pinned_release_id,
  case when f.release_seq is null then null else (select count(*)::int from releases r where r.org_id = f.org_id and r.channel = f.channel and r.state = 'published' and r.seq > f.release_seq) end as versions_behind,
  (a.facts->>'kubernetesVersion') as kubernetes_version`;

/** The same page written by hand: one statement, the same joins and keyset condition as the API's query. */
function handQuery(
  raw: postgres.Sql,
  o: {
    where?: postgres.PendingQuery<postgres.Row[]>;
    order: string;
    dir: "asc" | "desc";
    cursor?: HandCursor;
    ts?: boolean;
    tie?: string;
    inner?: boolean;
  },
) {
  const tie = o.tie ?? "a.id";
  const cmp = o.dir === "desc" ? "<" : ">";
  const after = o.cursor
    ? raw`and (${raw.unsafe(o.order)}, ${raw.unsafe(tie)}) ${raw.unsafe(cmp)} (${o.cursor.k ?? ""}${raw.unsafe(o.ts ? "::timestamptz" : "")}, ${o.cursor.id})`
    : raw``;
  return raw`select ${raw.unsafe(COLUMNS)}
    from appliances a
    join customers c on c.id = a.customer_id
    join licenses l on l.id = a.license_id
    ${raw.unsafe(o.inner ? "join" : "left join")} fleet_appliances f on f.appliance_id = a.id
    where a.org_id = ${ORG} ${o.where ?? raw``} ${after}
    order by ${raw.unsafe(o.order)} ${raw.unsafe(o.dir)}, ${raw.unsafe(tie)} ${raw.unsafe(o.dir)}
    limit 51`;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

async function seed(raw: postgres.Sql) {
  const now = new Date();
  await raw`insert into organisations (id, name) values (${ORG}, 'bench')`;
  // customers and their licenses: one in five follows beta; one in ten is "gold"
  await raw`insert into customers (id, org_id, name, tags)
    select 'cus_' || upper(lpad(to_hex(g), 26, '0')), ${ORG}, 'customer ' || g,
      case when g % 10 = 0 then '["gold","eu"]'::jsonb when g % 2 = 0 then '["eu"]'::jsonb else '["us"]'::jsonb end
    from generate_series(1, ${CUSTOMERS}) g`;
  await raw`insert into licenses (id, org_id, customer_id, entitlements, expires_at)
    select 'lic_' || upper(lpad(to_hex(g), 26, '0')), ${ORG}, 'cus_' || upper(lpad(to_hex(g), 26, '0')),
      jsonb_build_object('maxWorkerNodes', 3, 'maxHubs', 100, 'updateChannel', case when g % 5 = 0 then 'beta' else 'stable' end, 'features', '[]'::jsonb),
      ${new Date(now.getTime() + 365 * 86_400_000)}
    from generate_series(1, ${CUSTOMERS}) g`;
  // ten releases per channel
  for (const channel of ["stable", "beta"]) {
    for (let i = 0; i < 10; i++) {
      const version = channel === "beta" ? `1.${i}.0-beta.1` : `1.${i}.0`;
      await raw`insert into releases (id, org_id, channel, version, version_key, seq, chart_digest, published_by, published_at)
        values (${`rel_${channel === "beta" ? "B" : "S"}${String(i).padStart(25, "0")}`}, ${ORG}, ${channel}, ${version}, ${versionKey(version)}, ${i + 1},
          ${"0".repeat(64)}, 'bench', ${now})`;
    }
  }
  await raw`insert into appliances (id, org_id, customer_id, license_id, name, public_key, key_thumbprint, facts, agent_version,
      online, last_seen_at, observed_generation, last_apply)
    select 'apl_' || upper(lpad(to_hex(g), 26, '0')), ${ORG},
      'cus_' || upper(lpad(to_hex(1 + g % ${CUSTOMERS}), 26, '0')), 'lic_' || upper(lpad(to_hex(1 + g % ${CUSTOMERS}), 26, '0')),
      'appliance-' || lpad(g::text, 6, '0'), jsonb_build_object('kty', 'OKP', 'crv', 'Ed25519', 'x', md5(g::text)), 'tp-' || g,
      jsonb_build_object('kubernetesVersion', (array[${k8s[0]!}::text, ${k8s[1]!}::text, ${k8s[2]!}::text, ${k8s[3]!}::text])[1 + g % 4], 'distribution', 'k3s',
        'nodeCount', 1, 'namespace', 'camel', 'mode', 'appliance'),
      '0.1.' || (g % 3), g % 10 <> 0, ${now}::timestamptz - (g % 86400) * interval '1 second', 1,
      jsonb_build_object('generation', 1, 'outcome', case when g % 50 = 7 then 'failed' else 'healthy' end, 'message', 'ok', 'at', ${now.toISOString()}::text)
    from generate_series(1, ${N}) g`;
  await raw`insert into desired_states (appliance_id, generation, release, values, values_digest, digest)
    select a.id, 1, jsonb_build_object('id', r.id, 'chartVersion', r.version, 'chartDigest', r.chart_digest, 'chartUrl', 'https://x/c.tgz'),
      '{}'::jsonb, '', ''
    from appliances a join licenses l on l.id = a.license_id
    join releases r on r.org_id = a.org_id and r.channel = l.entitlements->>'updateChannel'
      and r.seq = 1 + (('x' || substr(md5(a.id), 1, 4))::bit(16)::int % 10)
    where a.org_id = ${ORG}`;
}

await main();
