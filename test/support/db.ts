// Test databases: a fresh in-memory PGlite always, and a fresh database on real Postgres when TEST_DATABASE_URL is set.
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { type Database, migrateDatabase, openDatabase } from "../../cloud/src/db/client.ts";

export interface TestDbKind {
  name: "pglite" | "postgres";
  /** Opens a fresh, migrated, empty database. */
  open(): Promise<TestDatabase>;
}

export interface TestDatabase extends Database {
  /** Connection string of the fresh Postgres database (postgres kind only), for a second process. */
  url?: string;
}

export const realPostgresUrl = process.env.TEST_DATABASE_URL;

async function createPostgresDatabase(adminUrl: string): Promise<string> {
  const name = `t_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropPostgresDatabase(adminUrl: string, dbUrl: string): Promise<void> {
  const name = new URL(dbUrl).pathname.slice(1);
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/** A fresh empty (unmigrated) Postgres database URL, dropped by the returned cleanup. */
export async function freshPostgresUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!realPostgresUrl) throw new Error("TEST_DATABASE_URL is not set");
  const url = await createPostgresDatabase(realPostgresUrl);
  return { url, drop: () => dropPostgresDatabase(realPostgresUrl, url) };
}

export const pgliteKind: TestDbKind = {
  name: "pglite",
  async open() {
    const database = await openDatabase({ inMemory: true });
    await migrateDatabase(database);
    return database;
  },
};

export const postgresKind: TestDbKind = {
  name: "postgres",
  async open() {
    const { url, drop } = await freshPostgresUrl();
    const database = await openDatabase({ databaseUrl: url, poolSize: 4 });
    await migrateDatabase(database);
    return {
      ...database,
      url,
      async close() {
        await database.close();
        await drop();
      },
    };
  },
};

/** The database kinds every database test runs against: PGlite always, Postgres when CI provides it. */
export const testDbKinds: TestDbKind[] = realPostgresUrl ? [pgliteKind, postgresKind] : [pgliteKind];
