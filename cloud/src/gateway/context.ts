// What a session needs from its gateway (kept narrow so sessions are testable on their own).
import type { Logger } from "pino";
import type { Db } from "../db/client.ts";
import type { Clock } from "../lib/clock.ts";
import type { TelemetryIngest } from "../tunnel/telemetry-ingest.ts";
import type { HelloOutcome, HelloRecord } from "./hello.ts";
import type { GatewayOptions } from "./options.ts";
import type { Session } from "./session.ts";

export interface GatewayContext {
  db: Db;
  clock: Clock;
  logger: Logger;
  replicaId: string;
  options: GatewayOptions;
  ingest: TelemetryIngest;
  register(s: Session): void;
  unregister(s: Session): void;
  notifyFence(applianceId: string, epoch: number): Promise<void>;
  onLive(s: Session): void;
  /** the hello's database work, group-committed with other sessions' hellos; undefined: appliance not active */
  hello(record: HelloRecord): Promise<HelloOutcome | undefined>;
  /** a cumulative command ack, group-committed with other sessions' acks */
  ack(applianceId: string, upTo: number): Promise<void>;
}
