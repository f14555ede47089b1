// Gateway settings; every interval is configurable so tests run in milliseconds.

import type { IngestOptions } from "../tunnel/telemetry-ingest.ts";
import { type AdmissionOptions, defaultAdmission } from "./admission.ts";

export interface GatewayOptions {
  /** the agent pings this often; welcome tells it */
  heartbeatMs: number;
  /** a session silent this long is closed (HEARTBEAT_TIMEOUT) */
  deadAfterMs: number;
  /** how long a new socket may take to send hello */
  helloTimeoutMs: number;
  /** the agent reports its state digest this often (periodic anti-entropy) */
  stateCheckMs: number;
  /** license/appliance re-check, presence (last seen), outbox safety poll, expiry */
  sweepMs: number;
  /**
   * A held appliance's last-seen is rewritten when older than this (by the sweep). Keep it well under the API's
   * PRESENCE_STALE_MS (90 s): each held agent costs one row update per refresh in Postgres.
   */
  presenceRefreshMs: number;
  /** an appliance marked online whose last-seen is older than this is marked offline (its replica died) */
  presenceStaleMs: number;
  /** a close handshake not completed in this time ends in terminate() */
  closeTimeoutMs: number;
  admission: AdmissionOptions;
  /** goaway asks each agent to reconnect after a random delay in [0, spreadMs] */
  drainSpreadMs: number;
  /** drain waits this long for sockets to close, then terminates the rest */
  drainTimeoutMs: number;
  /** Retry-After range while draining */
  drainRetryAfterMs: [number, number];
  maxPayload: number;
  tokenClockSkewSec: number;
  /**
   * Concurrent handshakes' appliance lookups, jti inserts and hello updates wait this long to share one statement
   * (group commit; bench S2). 0 writes each alone.
   */
  handshakeGroupMs: number;
  /** agents' command acks wait this long to share one statement (a fan-out's acks arrive together; bench S4) */
  ackGroupMs: number;
  ingest: Partial<IngestOptions>;
}

export const defaultGatewayOptions: GatewayOptions = {
  heartbeatMs: 20_000,
  deadAfterMs: 60_000,
  helloTimeoutMs: 10_000,
  stateCheckMs: 15 * 60_000,
  sweepMs: 5_000,
  presenceRefreshMs: 30_000,
  presenceStaleMs: 90_000,
  closeTimeoutMs: 5_000,
  admission: defaultAdmission,
  drainSpreadMs: 30_000,
  drainTimeoutMs: 10_000,
  drainRetryAfterMs: [5_000, 30_000],
  maxPayload: 1_048_576,
  tokenClockSkewSec: 30,
  handshakeGroupMs: 2,
  ackGroupMs: 5,
  ingest: {},
};
