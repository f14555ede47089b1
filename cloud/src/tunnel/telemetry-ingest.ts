// Batched telemetry ingest: events and metric samples of every session are written together, one transaction per
// flush (INSERT ... SELECT FROM unnest, ON CONFLICT DO NOTHING), every `flushMs` or `maxRows`, with up to
// `concurrency` flushes in flight on the pool; events resolve after their own commit.
import { and, eq, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { AgentEvent, MetricSample } from "../../../shared/src/protocol/frames.ts";
import { applyResultSchema } from "../../../shared/src/protocol/frames.ts";
import type { Db } from "../db/client.ts";
import { pgArray } from "../db/pg-array.ts";
import { appliances } from "../db/schema/index.ts";

export interface IngestOptions {
  flushMs: number;
  maxRows: number;
  /** samples held beyond this are dropped (metrics are lossy by design) */
  maxQueuedSamples: number;
  /**
   * Flushes in flight at once. Acks stay in order per session (each session chains its acks), and flushes touch no
   * shared row, so a second and third flush use the pool while the first waits on its commit (bench S3).
   */
  concurrency: number;
}

export { pgArray };

export const defaultIngestOptions: IngestOptions = {
  flushMs: 50,
  maxRows: 2000,
  maxQueuedSamples: 50_000,
  concurrency: 3,
};

/**
 * The highest committed event seq of the appliance in the enclosing `appliances` row: one backward probe of
 * telemetry_events' primary key (appliance_id, seq). `appliances.event_seq` is no longer written per flush (it
 * was the flush's main cost, and a row lock that concurrent flushes would contend on); it only still holds the
 * value written before that change, hence greatest().
 */
export const committedEventSeqSql = sql`greatest(appliances.event_seq,
  coalesce((select max(e.seq) from telemetry_events e where e.appliance_id = appliances.id), 0))`;

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
  private readonly writing = new Set<Promise<void>>();
  private closed = false;
  droppedSamples = 0;
  stats = { flushes: 0, events: 0, samples: 0, maxConcurrent: 0 };

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

  private get queuedRows() {
    return this.eventRows + this.samples.length;
  }

  private schedule() {
    if (this.queuedRows >= this.opts.maxRows) {
      this.kick();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, this.opts.flushMs);
  }

  /** Starts a write of everything queued while a slot is free; a backlog waits for the next free slot. */
  private kick() {
    while (this.writing.size < this.opts.concurrency && (this.events.length > 0 || this.samples.length > 0)) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      const events = this.events;
      const samples = this.samples;
      this.events = [];
      this.eventRows = 0;
      this.samples = [];
      const p: Promise<void> = this.write(events, samples).finally(() => {
        this.writing.delete(p);
        if (this.queuedRows > 0) this.schedule();
      });
      this.writing.add(p);
      this.stats.maxConcurrent = Math.max(this.stats.maxConcurrent, this.writing.size);
    }
  }

  /** Writes everything queued and resolves when it and every flush in flight have finished. */
  async flush(): Promise<void> {
    for (;;) {
      this.kick();
      if (this.writing.size === 0) return;
      await (this.queuedRows > 0 ? Promise.race(this.writing) : Promise.all(this.writing));
    }
  }

  private async write(events: PendingEvents[], samples: Array<{ applianceId: string; s: MetricSample }>) {
    // Sorted by key, so concurrent flushes that both hold a re-sent event (or an apply result) of two appliances
    // take their locks in the same order and cannot deadlock.
    const eventRows = events
      .flatMap((p) =>
        p.events.map((e) => ({
          applianceId: p.applianceId,
          seq: e.seq,
          kind: e.kind,
          at: safeDate(e.at),
          data: e.data,
        })),
      )
      .sort((x, y) => (x.applianceId < y.applianceId ? -1 : x.applianceId > y.applianceId ? 1 : x.seq - y.seq));
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
        for (const r of applyResults) {
          const parsed = applyResultSchema.safeParse(r.data);
          if (!parsed.success) continue;
          // Flushes may commit out of order: an older result never replaces a newer one.
          await tx
            .update(appliances)
            .set({ lastApply: { ...parsed.data, at: r.at.toISOString() } })
            .where(
              and(
                eq(appliances.id, r.applianceId),
                sql`coalesce((${appliances.lastApply}->>'at')::timestamptz, '-infinity') <= ${r.at.toISOString()}::timestamptz`,
              ),
            );
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
  }
}

function safeDate(s: string): Date {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? new Date() : d;
}
