// The hello's database work for many sessions in one statement: take each appliance's next epoch, record presence,
// fence older sessions everywhere (one NOTIFY per appliance, all at one commit), and learn what is waiting.
import { sql } from "drizzle-orm";
import { type DbOrTx, rowsOf } from "../db/client.ts";
import { pgArray } from "../db/pg-array.ts";
import { channels } from "../tunnel/bus.ts";
import { committedEventSeqSql } from "../tunnel/telemetry-ingest.ts";

export interface HelloRecord {
  applianceId: string;
  sessionId: string;
  agentVersion: string;
  observedGeneration: number;
  stateDigest: string;
  facts: unknown;
  lastCommandSeq: number;
  now: Date;
}

export interface HelloOutcome {
  epoch: number;
  /** highest committed event seq (welcome.lastEventSeq) */
  eventSeq: number;
  desiredDigest: string | null;
  /** unfinished, unexpired commands exist (replay after welcome) */
  hasPending: boolean;
  /** queued commands the hello's lastCommandSeq already acknowledges */
  hasUnacked: boolean;
}

/**
 * One outcome per record, in order; undefined where the appliance is not active. An appliance must appear at most
 * once per call (GroupCommit's keyOf): one row takes one epoch per statement.
 */
export async function recordHellos(
  db: DbOrTx,
  replicaId: string,
  records: HelloRecord[],
): Promise<Array<HelloOutcome | undefined>> {
  const col = <T>(f: (r: HelloRecord) => T) => pgArray(records.map((r) => (f(r) === null ? null : String(f(r)))));
  const result = await db.execute(sql`
    with v as (
      select * from unnest(${col((r) => r.applianceId)}::text[], ${col((r) => r.sessionId)}::text[],
        ${col((r) => r.agentVersion)}::text[], ${col((r) => r.observedGeneration)}::int[],
        ${col((r) => r.stateDigest)}::text[], ${col((r) => (r.facts ? JSON.stringify(r.facts) : null))}::jsonb[],
        ${col((r) => r.lastCommandSeq)}::int[], ${col((r) => r.now.toISOString())}::timestamptz[])
        as v(id, session_id, agent_version, observed_generation, state_digest, facts, last_command_seq, now)
    ), u as (
      update appliances set
        epoch = epoch + 1, session_id = v.session_id, replica_id = ${replicaId}, online = true,
        connected_at = v.now, last_seen_at = v.now,
        agent_version = v.agent_version, observed_generation = v.observed_generation,
        state_digest = v.state_digest,
        facts = coalesce(v.facts, appliances.facts),
        acked_command_seq = greatest(acked_command_seq, v.last_command_seq)
      from v
      where appliances.id = v.id and appliances.state = 'active'
      returning appliances.id, appliances.epoch, ${committedEventSeqSql} as event_seq,
        (select d.digest from desired_states d where d.appliance_id = appliances.id) as desired_digest,
        exists(select 1 from commands c where c.appliance_id = appliances.id
          and c.status in ('queued', 'delivered', 'running') and c.expires_at > v.now) as has_pending,
        exists(select 1 from commands c where c.appliance_id = appliances.id
          and c.status = 'queued' and c.seq <= v.last_command_seq) as has_unacked
    )
    select u.*, pg_notify(${channels.fence},
      json_build_object('applianceId', u.id, 'epoch', u.epoch, 'replicaId', ${replicaId}::text)::text) as notified
    from u`);
  const rows = rowsOf<{
    id: string;
    epoch: number | string;
    event_seq: number | string;
    desired_digest: string | null;
    has_pending: boolean;
    has_unacked: boolean;
  }>(result);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return records.map((rec) => {
    const r = byId.get(rec.applianceId);
    if (!r) return undefined;
    return {
      epoch: Number(r.epoch),
      eventSeq: Number(r.event_seq),
      desiredDigest: r.desired_digest,
      hasPending: r.has_pending,
      hasUnacked: r.has_unacked,
    };
  });
}
