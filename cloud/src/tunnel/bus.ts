// LISTEN/NOTIFY over either driver: the wake-up between replicas (the tables stay the truth).
import { sql } from "drizzle-orm";
import type { Database, DbOrTx } from "../db/client.ts";

export const channels = {
  /** payload: appliance id; new commands or desired state for it */
  wake: "tunnel_wake",
  /**
   * payload: JSON { from, to }: the id range of one bulk enqueue (enqueueCommandForAppliances), one notify for the
   * whole batch; each replica sends the batch's commands to the sessions it holds with one query
   */
  wakeBatch: "tunnel_wake_batch",
  /** payload: JSON { applianceId, epoch, replicaId }; older sessions of that appliance close */
  fence: "session_fence",
  /** payload: license id; its state changed (emitted by the licenses service) */
  licenseState: "license_state",
  /** payload: appliance id; it was disabled or enabled */
  applianceState: "appliance_state",
  /** payload: command id; a chunk of its stream was stored (wakes the API's stream readers) */
  stream: "command_stream",
  /** payload: JSON { applianceId, commandId }; an operator stopped that stream (the gateway sends stream.cancel) */
  streamCancel: "command_stream_cancel",
} as const;

export interface Bus {
  listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
}

export function createBus(database: Database): Bus {
  return {
    async listen(channel, handler) {
      if (database.pglite) {
        const unsub = await database.pglite.listen(channel, handler);
        return async () => {
          await unsub().catch(() => {});
        };
      }
      if (database.pg) {
        const sub = await database.pg.listen(channel, (payload) => handler(payload));
        return async () => {
          await sub.unlisten().catch(() => {});
        };
      }
      throw new Error("database has neither a PGlite nor a postgres client");
    },
  };
}

/** pg_notify inside db (a transaction delivers it at commit). */
export async function notify(db: DbOrTx, channel: string, payload: string): Promise<void> {
  await db.execute(sql`select pg_notify(${channel}, ${payload})`);
}
