// The coordinator's side: a fresh bench database with an enrolled fleet, and child processes (servers, load
// clients) driven over IPC. Every child is killed when the coordinator exits, so a bench always stops by itself.
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { calculateJwkThumbprint } from "jose";
import postgres from "postgres";
import { generateAgentKey, keyToJwk } from "../../agent/src/keystore.ts";
import { type Database, migrateDatabase, openDatabase } from "../../cloud/src/db/client.ts";
import { appliances, licenses } from "../../cloud/src/db/schema/index.ts";
import { newId } from "../../shared/src/ids.ts";
import { tunnelAudience } from "../../shared/src/protocol/frames.ts";
import { enrollRaw, issueLicense, startTunnelCloud } from "../../test/tunnel/harness.ts";
import type { ClientInit } from "./client-proc.ts";

export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/postgres";
export const PUBLIC_URL = "http://bench.invalid";
export const AUDIENCE = tunnelAudience(PUBLIC_URL);
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

const children = new Set<ChildProcess>();
function killAll() {
  for (const c of children) c.kill("SIGKILL");
}
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

export interface BenchDb {
  url: string;
  database: Database;
  drop(): Promise<void>;
}

/** A fresh, migrated database on the real Postgres, dropped by drop(). */
export async function createBenchDb(): Promise<BenchDb> {
  const name = `bench_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const database = await openDatabase({ databaseUrl: url, poolSize: 8 });
  await migrateDatabase(database);
  return {
    url,
    database,
    async drop() {
      await database.close().catch(() => {});
      const a = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await a.end();
    },
  };
}

export interface FleetAgent {
  id: string;
  d: string;
  x: string;
}

/**
 * `n` appliances: the first `viaApi` enrolled through the real API (license token + key), the rest inserted in bulk
 * with the columns enrollment writes (as test/tunnel/reconnect-storm does) because 100,000 API enrollments would
 * take longer than the bench itself. Each has its own Ed25519 key; clients sign their own JWTs with it.
 */
export async function enrollFleet(
  db: BenchDb,
  n: number,
  viaApi = 20,
): Promise<{ fleet: FleetAgent[]; orgId: string; adminKey: string }> {
  const tc = await startTunnelCloud({ database: db.database });
  try {
    const { licenseId, token } = await issueLicense(tc, { maxHubs: 100 });
    const fleet: FleetAgent[] = [];
    for (let i = 0; i < Math.min(viaApi, n); i++) {
      const e = await enrollRaw(tc, token);
      const jwk = keyToJwk(e.key);
      fleet.push({ id: e.applianceId, d: jwk.d!, x: jwk.x! });
    }
    const [lic] = await db.database.db.select().from(licenses).limit(1);
    for (let start = fleet.length; start < n; start += 2000) {
      const rows = [];
      for (let i = start; i < Math.min(n, start + 2000); i++) {
        const key = generateAgentKey();
        const jwk = keyToJwk(key);
        const id = newId("appliance");
        fleet.push({ id, d: jwk.d!, x: jwk.x! });
        rows.push({
          id,
          orgId: lic!.orgId,
          customerId: lic!.customerId,
          licenseId,
          name: `bench-${i}`,
          publicKey: key.publicJwk,
          keyThumbprint: await calculateJwkThumbprint(key.publicJwk),
          facts: {
            kubernetesVersion: "v1.31.4",
            distribution: "k3s" as const,
            nodeCount: 1,
            namespace: "camel-ops",
            mode: "appliance" as const,
          },
        });
      }
      await db.database.db.insert(appliances).values(rows);
    }
    return { fleet, orgId: lic!.orgId, adminKey: tc.adminKey };
  } finally {
    await tc.stop();
  }
}

/** A child process with request/response over IPC (one outstanding request per op name). */
export class Child {
  readonly proc: ChildProcess;
  private readonly waiters = new Map<string, (m: Record<string, unknown>) => void>();
  readonly exited: Promise<number | null>;
  constructor(proc: ChildProcess) {
    this.proc = proc;
    children.add(proc);
    this.exited = new Promise((r) =>
      proc.on("exit", (code) => {
        children.delete(proc);
        r(code);
      }),
    );
    proc.on("message", (m: Record<string, unknown>) => {
      const w = this.waiters.get(m.op as string);
      if (w) {
        this.waiters.delete(m.op as string);
        w(m);
      }
    });
  }
  get pid() {
    return this.proc.pid!;
  }
  // biome-ignore lint/suspicious/noExplicitAny: IPC replies are plain JSON the benches read freely
  request<T = any>(msg: Record<string, unknown>, reply: string, timeoutMs = 600_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${reply} from ${this.pid} in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.set(reply, (m) => {
        clearTimeout(t);
        resolve(m as T);
      });
      if (Object.keys(msg).length > 0) this.proc.send(msg);
    });
  }
  kill(sig: NodeJS.Signals = "SIGKILL") {
    this.proc.kill(sig);
  }
}

export function forkTs(file: string, args: string[], env: Record<string, string> = {}, extraExecArgv: string[] = []) {
  return fork(here(file), args, {
    execArgv: ["--import", "tsx", "--expose-gc", ...extraExecArgv],
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

export interface ServerHandle extends Child {
  port: number;
}

export async function startServer(
  kind: "gateway" | "bare",
  opts: { port?: number; dbUrl?: string; options?: Record<string, unknown>; pool?: number } = {},
): Promise<Child & { port: number }> {
  const proc = forkTs(
    "./server-proc.ts",
    [kind, String(opts.port ?? 0), JSON.stringify({ publicUrl: PUBLIC_URL, ...opts.options })],
    { BENCH_DB_URL: opts.dbUrl ?? "", BENCH_POOL: String(opts.pool ?? 8) },
  );
  const c = new Child(proc);
  const m = await c.request<{ port: number }>({}, "listening", 60_000);
  return Object.assign(c, { port: m.port });
}

/** Load processes of at most `perProc` agents each, each from its own source address 127.0.0.(2+i). */
export async function startClients(
  fleet: FleetAgent[],
  init: Omit<ClientInit, "agents" | "localAddress">,
  perProc = 19_000,
): Promise<Child[]> {
  const out: Child[] = [];
  for (let i = 0, k = 0; i < fleet.length; i += perProc, k++) {
    const c = new Child(forkTs("./client-proc.ts", []));
    await c.request(
      { op: "init", init: { ...init, agents: fleet.slice(i, i + perProc), localAddress: `127.0.0.${2 + k}` } },
      "ready",
    );
    out.push(c);
  }
  return out;
}

export async function statusAll(clients: Child[]) {
  const all = await Promise.all(clients.map((c) => c.request({ op: "status" }, "status")));
  const sum = (k: string) => all.reduce((s, x) => s + Number(x[k] ?? 0), 0);
  const codes: Record<string, number> = {};
  const refusals: Record<string, number> = {};
  for (const x of all) {
    for (const [k, v] of Object.entries(x.closeCodes as Record<string, number>)) codes[k] = (codes[k] ?? 0) + v;
    for (const [k, v] of Object.entries(x.refusals as Record<string, number>)) refusals[k] = (refusals[k] ?? 0) + v;
  }
  return {
    live: sum("live"),
    refused: sum("refused"),
    closed: sum("closed"),
    pongs: sum("pongs"),
    commands: sum("commands"),
    pingsSent: sum("pingsSent"),
    closeCodes: codes,
    refusals,
  };
}

export async function exitAll(cs: Child[]) {
  for (const c of cs) c.proc.connected && c.proc.send({ op: "exit" });
  await Promise.race([Promise.all(cs.map((c) => c.exited)), new Promise((r) => setTimeout(r, 10_000))]);
  for (const c of cs) c.kill();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
