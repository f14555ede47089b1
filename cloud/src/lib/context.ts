// Types shared by every route and service: the dependencies handed to createApp, the per-request variables,
// and the ServiceContext that framework-free services receive (`verbEntity({ ctx, input })`).
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Database, Db } from "../db/client.ts";
import type { AuthThrottle } from "./auth-throttle.ts";
import type { Clock } from "./clock.ts";
import type { CloudEvents } from "./events.ts";

export const roles = ["viewer", "operator", "admin"] as const;
export type Role = (typeof roles)[number];

export interface Actor {
  orgId: string;
  /** API key id; empty for the admin CLI and the bootstrap */
  keyId: string;
  role: Role;
  /** what audit rows name, e.g. `key:key_01…` or `cli` */
  name: string;
}

export interface AppDeps {
  database: Database;
  db: Db;
  logger: Logger;
  clock: Clock;
  /** Base URL printed in links and tokens (no trailing slash) */
  publicUrl: string;
  bodyLimitBytes: number;
  /** 32-byte key that encrypts signing keys at rest */
  keyEncryptionKey: Buffer;
  /** In-process events (license state changes, ...); cross-replica listeners use pg LISTEN instead */
  events: CloudEvents;
  /** Prometheus registry of this app instance (never the global one) */
  metrics: Registry;
  /** Repeated authentication failures, per client IP and per key prefix (in memory, per process) */
  authThrottle: AuthThrottle;
  /** Take the client IP from X-Forwarded-For (only behind a proxy you trust) */
  trustProxy: boolean;
  /** Set when the process is stopping: /readyz answers 503 so load balancers stop sending new work */
  draining?: boolean;
}

export interface AppEnv {
  Variables: {
    deps: AppDeps;
    requestId: string;
    logger: Logger;
    actor?: Actor;
  };
}

/** What every service verb receives: who acts, and the few dependencies services may use. */
export interface ServiceContext {
  deps: Pick<AppDeps, "db" | "clock" | "events" | "keyEncryptionKey" | "logger">;
  actor: Actor;
  requestId?: string;
}
