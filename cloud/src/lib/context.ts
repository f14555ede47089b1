// Types shared by every route: the dependencies handed to createApp and the per-request variables.
import type { Logger } from "pino";
import type { Database, Db } from "../db/client.ts";
import type { Clock } from "./clock.ts";

export type Role = "admin" | "operator" | "viewer";

export interface Actor {
  orgId: string;
  keyId: string;
  role: Role;
  /** what audit rows name, e.g. `key:key_01…` */
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
}

export interface AppEnv {
  Variables: {
    deps: AppDeps;
    requestId: string;
    logger: Logger;
    actor?: Actor;
  };
}
