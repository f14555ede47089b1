// The scheduler role: one leader across replicas (a session advisory lock held on a reserved connection;
// PGlite is single-process, so there it just runs). The leader ticks the rollout engine every second, syncs
// the fleet projection, scans for alerts and sends webhooks. Everything it knows is in Postgres.
import type { Logger } from "pino";
import type postgres from "postgres";
import type { Database } from "../db/client.ts";
import type { Clock } from "../lib/clock.ts";
import { deliverDueWebhooks } from "../services/alerts/deliver.ts";
import { type ScanOptions, scanAlerts } from "../services/alerts/scan.ts";
import { syncFleetAppliances } from "../services/fleet.ts";
import { runSchedulerTick } from "./engine.ts";

/** Advisory lock key of the scheduler ("rollouts" in ASCII). */
export const SCHEDULER_LOCK_KEY = 0x726f6c6c6f757473n;

export interface SchedulerOptions {
  database: Database;
  clock: Clock;
  publicUrl: string;
  keyEncryptionKey: Buffer;
  logger: Logger;
  intervalMs?: number;
  fleetSyncEveryMs?: number;
  alertScanEveryMs?: number;
  alerts?: ScanOptions;
  fetch?: typeof fetch;
}

export interface Scheduler {
  isLeader(): boolean;
  /** runs one full pass now (tests); resolves when it is done */
  tickNow(): Promise<void>;
  stop(): Promise<void>;
}

export function startScheduler(opts: SchedulerOptions): Scheduler {
  const interval = opts.intervalMs ?? 1000;
  const log = opts.logger.child({ role: "scheduler" });
  let reserved: postgres.ReservedSql | undefined;
  let leader = opts.database.kind === "pglite";
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let lastSync = 0;
  let lastScan = 0;

  async function acquire(): Promise<boolean> {
    if (leader) return true;
    const pg = opts.database.pg;
    if (!pg) return false;
    try {
      reserved ??= await pg.reserve();
      const [row] = await reserved`select pg_try_advisory_lock(${SCHEDULER_LOCK_KEY.toString()}::bigint) as ok`;
      leader = Boolean(row?.ok);
      if (leader) log.info("scheduler lock acquired; this replica runs rollouts");
    } catch (err) {
      log.warn({ err }, "scheduler lock attempt failed");
      reserved?.release();
      reserved = undefined;
      leader = false;
    }
    return leader;
  }

  async function pass() {
    if (!(await acquire())) return;
    const db = opts.database.db;
    const started = performance.now();
    try {
      const now = Date.now();
      if (now - lastSync >= (opts.fleetSyncEveryMs ?? 10_000)) {
        lastSync = now;
        await syncFleetAppliances(db, opts.clock.now());
      }
      const r = await runSchedulerTick({ db, clock: opts.clock, publicUrl: opts.publicUrl, logger: log });
      if (now - lastScan >= (opts.alertScanEveryMs ?? 60_000)) {
        lastScan = now;
        await scanAlerts({ db, clock: opts.clock }, opts.alerts);
      }
      await deliverDueWebhooks({
        db,
        clock: opts.clock,
        keyEncryptionKey: opts.keyEncryptionKey,
        logger: log,
        fetch: opts.fetch,
      });
      if (r.transitions > 0) {
        log.info({ ...r, durationMs: Math.round(performance.now() - started) }, "scheduler tick");
      }
      // the lock lives as long as the reserved session: check it is still there
      if (reserved) await reserved`select 1`;
    } catch (err) {
      log.error({ err }, "scheduler pass failed");
      if (reserved) {
        // a broken session lost the lock with it; let another replica (or a new session) take over
        reserved.release();
        reserved = undefined;
        leader = false;
      }
    }
  }

  const loop = () => {
    if (stopped) return;
    running = pass().finally(() => {
      running = undefined;
      if (!stopped) timer = setTimeout(loop, interval);
    });
  };
  timer = setTimeout(loop, 0);

  return {
    isLeader: () => leader,
    async tickNow() {
      if (running) await running;
      lastSync = 0;
      await pass();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (running) await running;
      if (reserved) {
        await reserved`select pg_advisory_unlock(${SCHEDULER_LOCK_KEY.toString()}::bigint)`.catch(() => {});
        reserved.release();
        reserved = undefined;
      }
      leader = false;
    },
  };
}
