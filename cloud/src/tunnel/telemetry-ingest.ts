// Batched telemetry ingest: events and metric samples of every session are written together, one transaction per
// flush (multi-row INSERT ... ON CONFLICT DO NOTHING), every `flushMs` or `maxRows`; events resolve after commit.
import { eq, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { AgentEvent, MetricSample } from "../../../shared/src/protocol/frames.ts";
import { applyResultSchema } from "../../../shared/src/protocol/frames.ts";
import type { Db } from "../db/client.ts";
import { appliances } from "../db/schema/index.ts";

export interface IngestOptions {
  flushMs: number;
  maxRows: number;
  /** samples held beyond this are dropped (metrics are lossy by design) */
  maxQueuedSamples: number;
}

export const defaultIngestOptions: IngestOptions = { flushMs: 50, maxRows: 2000, maxQueuedSamples: 50_000 };

interface PendingEvents {
  applianceId: string;
  events: AgentEvent[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class TelemetryIngest {
  private readonly db: Db;
  private readonly logger: Logger;
  private readonly opts: IngestOptions;
  private events: PendingEvents[] = [];
  private eventRows = 0;
  private samples: Array<{ applianceId: string; s: MetricSample }> = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  droppedSamples = 0;
  stats = { flushes: 0, events: 0, samples: 0 };

  constructor(db: Db, logger: Logger, opts: Partial<IngestOptions> = {}) {
    this.db = db;
    this.logger = logger;
    this.opts = { ...defaultIngestOptions, ...opts };
  }

  /** Resolves once the events are committed (duplicates by appliance and seq are ignored). */
  addEvents(applianceId: string, events: AgentEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error("ingest closed"));
    return new Promise((resolve, reject) => {
      this.events.push({ applianceId, events, resolve, reject });
      this.eventRows += events.length;
      this.schedule();
    });
  }

  addSamples(applianceId: string, samples: MetricSample[]): void {
    if (this.closed) return;
    for (const s of samples) {
      if (this.samples.length >= this.opts.maxQueuedSamples) {
        this.droppedSamples++;
        continue;
      }
      this.samples.push({ applianceId, s });
    }
    this.schedule();
  }

  private schedule() {
    if (this.eventRows + this.samples.length >= this.opts.maxRows) {
      void this.flush();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.opts.flushMs);
  }

  /** Writes everything queued; concurrent callers share the flush in progress, then flush again. */
  async flush(): Promise<void> {
    if (this.flushing) {
      await this.flushing;
      if (this.events.length === 0 && this.samples.length === 0) return;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const events = this.events;
    const samples = this.samples;
    this.events = [];
    this.eventRows = 0;
    this.samples = [];
    if (events.length === 0 && samples.length === 0) return;
    this.flushing = this.write(events, samples).finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  private async write(events: PendingEvents[], samples: Array<{ applianceId: string; s: MetricSample }>) {
    const eventRows = events.flatMap((p) =>
      p.events.map((e) => ({
        applianceId: p.applianceId,
        seq: e.seq,
        kind: e.kind,
        at: safeDate(e.at),
        data: e.data,
      })),
    );
    const maxSeq = new Map<string, number>();
    for (const r of eventRows) maxSeq.set(r.applianceId, Math.max(maxSeq.get(r.applianceId) ?? 0, r.seq));
    const applyResults = eventRows.filter((r) => r.kind === "apply.result");
    try {
      await this.db.transaction(async (tx) => {
        // One statement per table: INSERT ... SELECT FROM unnest(<one array parameter per column>).
        if (eventRows.length > 0) {
          await tx.execute(sql`
            insert into telemetry_events (appliance_id, seq, kind, at, data)
            select * from unnest(
              ${pgArray(eventRows.map((r) => r.applianceId))}::text[],
              ${pgArray(eventRows.map((r) => String(r.seq)))}::bigint[],
              ${pgArray(eventRows.map((r) => r.kind))}::text[],
              ${pgArray(eventRows.map((r) => r.at.toISOString()))}::timestamptz[],
              ${pgArray(eventRows.map((r) => JSON.stringify(r.data)))}::jsonb[])
            on conflict do nothing`);
        }
        if (samples.length > 0) {
          await tx.execute(sql`
            insert into metric_samples (appliance_id, name, at, value, labels)
            select * from unnest(
              ${pgArray(samples.map((x) => x.applianceId))}::text[],
              ${pgArray(samples.map((x) => x.s.name))}::text[],
              ${pgArray(samples.map((x) => safeDate(x.s.at).toISOString()))}::timestamptz[],
              ${pgArray(samples.map((x) => String(x.s.value)))}::float8[],
              ${pgArray(samples.map((x) => (x.s.labels ? JSON.stringify(x.s.labels) : null)))}::jsonb[])`);
        }
        if (maxSeq.size > 0) {
          // One statement for every appliance in the batch, joined to unnest(ids, seqs): a CASE with one branch per
          // appliance cost O(appliances²) and took over a second for 2,000 appliances (bench S3).
          const ids = [...maxSeq.keys()];
          await tx.execute(sql`
            update appliances a set event_seq = greatest(a.event_seq, v.seq)
            from unnest(${pgArray(ids)}::text[], ${pgArray(ids.map((id) => String(maxSeq.get(id))))}::bigint[]) as v(id, seq)
            where a.id = v.id`);
        }
        for (const r of applyResults) {
          const parsed = applyResultSchema.safeParse(r.data);
          if (!parsed.success) continue;
          await tx
            .update(appliances)
            .set({ lastApply: { ...parsed.data, at: r.at.toISOString() } })
            .where(eq(appliances.id, r.applianceId));
        }
      });
      this.stats.flushes++;
      this.stats.events += eventRows.length;
      this.stats.samples += samples.length;
      for (const p of events) p.resolve();
    } catch (err) {
      this.logger.error({ err, events: eventRows.length, samples: samples.length }, "telemetry flush failed");
      for (const p of events) p.reject(err);
    }
  }

  /** Drops everything queued without writing (a crash, as far as the agents can tell: nothing is acked). */
  abort(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const events = this.events;
    this.events = [];
    this.samples = [];
    for (const p of events) p.reject(new Error("ingest aborted"));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    if (this.flushing) await this.flushing;
  }
}

/** A Postgres array literal (`{"a","b",NULL}`) passed as one text parameter: both drivers send it as-is. */
export function pgArray(values: Array<string | null>): string {
  return `{${values.map((v) => (v === null ? "NULL" : `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`)).join(",")}}`;
}

function safeDate(s: string): Date {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? new Date() : d;
}
