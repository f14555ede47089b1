// startCloud(config, overrides): opens and migrates the database, bootstraps an empty one, and serves the app on
// a real port; returns handles for tests and for other components. main.ts calls it; tests call it with PORT=0.
// Extension points: `routers` (mounted at the root) and `attach` hooks (run after listen with the http server and
// deps; may return a cleanup run first on stop()).
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import pino, { type Logger } from "pino";
import { type App, createApp } from "./app.ts";
import type { Config } from "./config.ts";
import { type Database, dataPath, migrateDatabase, openDatabase } from "./db/client.ts";
import { AuthThrottle } from "./lib/auth-throttle.ts";
import { type Clock, systemClock } from "./lib/clock.ts";
import type { AppDeps } from "./lib/context.ts";
import type { Router } from "./lib/create-router.ts";
import { CloudEvents } from "./lib/events.ts";
import { createMetricsRegistry } from "./lib/metrics.ts";
import { decodeKeyEncryptionKey } from "./lib/secret-box.ts";
import { bootstrapIfEmpty, type CreatedOrganisation } from "./services/organisations.ts";

export type AttachHook = (
  server: ServerType,
  deps: AppDeps,
  extra: { app: App; config: Config },
) => void | (() => void | Promise<void>) | Promise<void | (() => void | Promise<void>)>;

export interface StartOverrides {
  logger?: Logger;
  clock?: Clock;
  /** An open database to use instead of opening one from config; stop() leaves it open. */
  database?: Database;
  routers?: Router[];
  attach?: AttachHook[];
  /** Skip creating the first organisation on an empty database (default false). */
  skipBootstrap?: boolean;
}

export interface RunningCloud {
  url: string;
  port: number;
  server: ServerType;
  app: App;
  deps: AppDeps;
  database: Database;
  /** The first organisation and its admin key when this start created them, else null. */
  bootstrap: CreatedOrganisation | null;
  stop(): Promise<void>;
}

/** The key that encrypts signing keys: from config, or (embedded mode only) generated once into DATA_DIR. */
export function resolveKeyEncryptionKey(config: Config, logger: Logger): Buffer {
  if (config.KEY_ENCRYPTION_KEY) return decodeKeyEncryptionKey(config.KEY_ENCRYPTION_KEY);
  if (config.DATABASE_URL) throw new Error("KEY_ENCRYPTION_KEY is required with DATABASE_URL");
  const file = dataPath(config.DATA_DIR, "key-encryption-key");
  if (!existsSync(file)) {
    mkdirSync(dataPath(config.DATA_DIR), { recursive: true });
    writeFileSync(file, randomBytes(32).toString("base64"), { mode: 0o600, flag: "wx" });
  }
  chmodSync(file, 0o600);
  logger.warn(
    { file },
    "KEY_ENCRYPTION_KEY is not set: signing keys are encrypted with a key generated into the data directory; set KEY_ENCRYPTION_KEY in production",
  );
  return decodeKeyEncryptionKey(readFileSync(file, "utf8").trim());
}

export function createLogger(config: Pick<Config, "LOG_LEVEL">): Logger {
  return pino({
    level: config.LOG_LEVEL,
    base: { service: "camel-ops-cloud" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ["req.headers.authorization", "*.secret", "*.token"], censor: "[redacted]" },
  });
}

/** Builds the app's dependencies from config and an open database (for app.request() tests too). */
export function createDeps(
  config: Config,
  database: Database,
  overrides: { logger?: Logger; clock?: Clock; keyEncryptionKey?: Buffer } = {},
): AppDeps {
  const logger = overrides.logger ?? createLogger(config);
  const clock = overrides.clock ?? systemClock;
  return {
    database,
    db: database.db,
    logger,
    clock,
    publicUrl: (config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, ""),
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    keyEncryptionKey: overrides.keyEncryptionKey ?? resolveKeyEncryptionKey(config, logger),
    events: new CloudEvents(),
    metrics: createMetricsRegistry(),
    authThrottle: new AuthThrottle({
      clock,
      maxFailures: config.AUTH_FAILURE_LIMIT,
      windowMs: config.AUTH_FAILURE_WINDOW_SECONDS * 1000,
    }),
    trustProxy: config.TRUST_PROXY,
  };
}

export async function startCloud(config: Config, overrides: StartOverrides = {}): Promise<RunningCloud> {
  const logger = overrides.logger ?? createLogger(config);
  const ownsDatabase = !overrides.database;
  const database =
    overrides.database ??
    (await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: config.DB_POOL_SIZE }));
  try {
    await migrateDatabase(database);
    const deps = createDeps(config, database, { logger, clock: overrides.clock });
    const bootstrap = overrides.skipBootstrap
      ? null
      : await bootstrapIfEmpty(database.db, { name: config.BOOTSTRAP_ORG_NAME, at: deps.clock.now() });
    const app = createApp(deps, { routers: overrides.routers });

    const server = await new Promise<ServerType>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, () => resolve(s));
      s.once("error", reject);
    });
    const port = (server.address() as AddressInfo).port;
    const host = config.HOST === "0.0.0.0" || config.HOST === "::" ? "localhost" : config.HOST;
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    if (!config.PUBLIC_URL) deps.publicUrl = url;

    const cleanups: (() => void | Promise<void>)[] = [];
    for (const hook of overrides.attach ?? []) {
      const cleanup = await hook(server, deps, { app, config });
      if (typeof cleanup === "function") cleanups.push(cleanup);
    }
    logger.info({ url, database: database.kind, roles: config.ROLES }, "listening");

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        deps.draining = true;
        for (const cleanup of cleanups.reverse()) {
          await Promise.resolve(cleanup()).catch((err) => logger.error({ err }, "attach cleanup failed"));
        }
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            if ("closeAllConnections" in server) server.closeAllConnections();
          }, 5_000);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          if ("closeIdleConnections" in server) server.closeIdleConnections();
        });
        if (ownsDatabase) await database.close();
        logger.info("stopped");
      })();
      return stopping;
    };
    return { url, port, server, app, deps, database, bootstrap, stop };
  } catch (err) {
    if (ownsDatabase) await database.close().catch(() => {});
    throw err;
  }
}
