// Opens the database (PGlite in a directory, or Postgres through postgres.js) and migrates it under an advisory lock.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import * as schema from "./schema/index.ts";

export type Schema = typeof schema;
// biome-ignore lint/suspicious/noExplicitAny: both drivers' result kinds are accepted
export type Db = PgDatabase<PgQueryResultHKT & any, Schema>;
/** The database or an open transaction: every query function takes this first. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type DbOrTx = Db | Tx;

/** The rows of a `db.execute(sql...)` result: postgres.js returns an array, PGlite an object with `rows`. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

export const migrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), "../../../migrations");

/** Key of the session-level advisory lock held while migrating ("camelops" in ASCII). */
const MIGRATION_LOCK_KEY = 0x63616d656c6f7073n;

export interface Database {
  db: Db;
  kind: "pglite" | "postgres";
  /** Raw postgres.js client when kind is postgres (LISTEN/NOTIFY, bulk ingest). */
  pg?: postgres.Sql;
  /** Connection string when kind is postgres (migrations open their own single connection). */
  url?: string;
  /** PGlite instance when kind is pglite. */
  pglite?: PGlite;
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl?: string;
  dataDir?: string;
  /** "memory://" PGlite for tests that need no persistence */
  inMemory?: boolean;
  poolSize?: number;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const pg = postgres(opts.databaseUrl, {
      max: opts.poolSize ?? 10,
      onnotice: () => {},
      // postgres.js drops the promise of its array-type lookup on a new connection, so a pool closed while a
      // connection opens raised an unhandled rejection (seen when a test kills a cloud). We pass no JS arrays as
      // parameters (array literals are text), so the lookup is not needed.
      fetch_types: false,
      connection: { application_name: "camel-ops-cloud" },
    });
    const db = drizzlePostgres(pg, { schema, casing: "snake_case" }) as unknown as Db;
    return { db, kind: "postgres", pg, url: opts.databaseUrl, close: () => pg.end({ timeout: 5 }) };
  }
  let pglite: PGlite;
  let unlock = () => {};
  if (opts.inMemory) {
    pglite = new PGlite();
  } else {
    const dir = resolve(opts.dataDir ?? "./.data", "pg");
    mkdirSync(dirname(dir), { recursive: true });
    // PGlite is single-process: two processes on one directory would corrupt it, so hold a pid lock file.
    unlock = lockDataDir(dirname(dir));
    try {
      pglite = new PGlite(dir);
    } catch (err) {
      unlock();
      throw err;
    }
  }
  await pglite.waitReady;
  const db = drizzlePglite(pglite, { schema, casing: "snake_case" }) as unknown as Db;
  let closed = false;
  return {
    db,
    kind: "pglite",
    pglite,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await pglite.close();
      } finally {
        unlock();
      }
    },
  };
}

export class DataDirLockedError extends Error {}

function lockDataDir(dir: string): () => void {
  const file = join(dir, "pglite.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(file, "utf8") === String(process.pid)) unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number(readFileSync(file, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new DataDirLockedError(
          `the data directory ${dir} is in use by process ${pid}; stop it first (PGlite allows one process at a time)`,
        );
      }
      if (pid === process.pid) {
        throw new DataDirLockedError(`the data directory ${dir} is already open in this process`);
      }
      unlinkSync(file); // stale lock of a process that is gone
    }
  }
  throw new DataDirLockedError(`could not lock the data directory ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Applies migrations/; on Postgres under a session advisory lock so concurrent replicas are safe. */
export async function migrateDatabase(database: Database): Promise<void> {
  if (database.kind === "pglite") {
    // biome-ignore lint/suspicious/noExplicitAny: driver-specific database type
    await migratePglite(database.db as any, { migrationsFolder });
    return;
  }
  // One dedicated connection (max: 1) so that the session lock and drizzle's migration transaction share a
  // session; a reserved pool connection would not do, because postgres.js runs `begin` on another connection.
  const conn = postgres(database.url!, {
    max: 1,
    onnotice: () => {},
    fetch_types: false,
    connection: { application_name: "camel-ops-migrate" },
  });
  try {
    await conn`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
    try {
      const db = drizzlePostgres(conn, { schema, casing: "snake_case" });
      await migratePostgres(db, { migrationsFolder });
    } finally {
      await conn`select pg_advisory_unlock(${MIGRATION_LOCK_KEY.toString()}::bigint)`.catch(() => {});
    }
  } finally {
    await conn.end({ timeout: 5 });
  }
}

export async function pingDatabase(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}

export const dataPath = (dataDir: string, ...parts: string[]) => join(resolve(dataDir), ...parts);
