// Opens the database (PGlite in a directory, or Postgres through postgres.js) and migrates it under an advisory lock.
import { mkdirSync } from "node:fs";
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

export const migrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), "../../../migrations");

/** Key of the session-level advisory lock held while migrating ("camelops" in ASCII). */
const MIGRATION_LOCK_KEY = 0x63616d656c6f7073n;

export interface Database {
  db: Db;
  kind: "pglite" | "postgres";
  /** Raw postgres.js client when kind is postgres (LISTEN/NOTIFY, bulk ingest). */
  pg?: postgres.Sql;
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
      connection: { application_name: "camel-ops-cloud" },
    });
    const db = drizzlePostgres(pg, { schema, casing: "snake_case" }) as unknown as Db;
    return { db, kind: "postgres", pg, close: () => pg.end({ timeout: 5 }) };
  }
  let pglite: PGlite;
  if (opts.inMemory) {
    pglite = new PGlite();
  } else {
    const dir = resolve(opts.dataDir ?? "./.data", "pg");
    mkdirSync(dirname(dir), { recursive: true });
    pglite = new PGlite(dir);
  }
  await pglite.waitReady;
  const db = drizzlePglite(pglite, { schema, casing: "snake_case" }) as unknown as Db;
  return { db, kind: "pglite", pglite, close: () => pglite.close() };
}

/** Applies migrations/; on Postgres under a session advisory lock so concurrent replicas are safe. */
export async function migrateDatabase(database: Database): Promise<void> {
  if (database.kind === "pglite") {
    // biome-ignore lint/suspicious/noExplicitAny: driver-specific database type
    await migratePglite(database.db as any, { migrationsFolder });
    return;
  }
  const pg = database.pg!;
  const reserved = await pg.reserve();
  try {
    await reserved`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
    // biome-ignore lint/suspicious/noExplicitAny: driver-specific database type
    const db = drizzlePostgres(reserved as any, { schema, casing: "snake_case" });
    await migratePostgres(db, { migrationsFolder });
  } finally {
    await reserved`select pg_advisory_unlock(${MIGRATION_LOCK_KEY.toString()}::bigint)`.catch(() => {});
    reserved.release();
  }
}

export async function pingDatabase(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}

export const dataPath = (dataDir: string, ...parts: string[]) => join(resolve(dataDir), ...parts);
