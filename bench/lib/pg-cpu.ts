// CPU seconds of the Postgres backends serving one database (found through pg_stat_activity).
import { readFileSync } from "node:fs";
import postgres from "postgres";
import { ADMIN_URL } from "./procs.ts";
import { cpuSeconds } from "./report.ts";

/** Backend pids of a database, plus the postmaster's background processes are left out on purpose. */
export async function backendPids(dbUrl: string): Promise<number[]> {
  const name = new URL(dbUrl).pathname.slice(1);
  const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select pid from pg_stat_activity where datname = ${name}`;
    return rows.map((r) => Number(r.pid));
  } finally {
    await sql.end();
  }
}

export const sumCpu = (pids: number[]) => pids.reduce((s, p) => s + cpuSeconds(p), 0);

/** Kernel slab memory not reclaimable (socket structures live there), bytes. */
export function slabUnreclaimable(): number {
  const m = /SUnreclaim:\s+(\d+) kB/.exec(readFileSync("/proc/meminfo", "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}
