// Bounded agent-side buffers: events are kept until the cloud acknowledges them (oldest dropped only when full);
// metric samples are lossy by design (oldest dropped first, counted).
import type { AgentEvent, MetricSample } from "../../shared/src/protocol/frames.ts";

export class EventBuffer {
  private items: AgentEvent[] = [];
  readonly capacity: number;
  dropped = 0;
  constructor(capacity: number) {
    this.capacity = capacity;
  }
  push(e: AgentEvent) {
    if (this.items.length >= this.capacity) {
      this.items.shift();
      this.dropped++;
    }
    this.items.push(e);
  }
  /** forget everything the cloud committed */
  ack(upTo: number) {
    let i = 0;
    while (i < this.items.length && this.items[i]!.seq <= upTo) i++;
    if (i > 0) this.items = this.items.slice(i);
  }
  after(seq: number, limit: number): AgentEvent[] {
    const out: AgentEvent[] = [];
    for (const e of this.items) {
      if (e.seq > seq) out.push(e);
      if (out.length >= limit) break;
    }
    return out;
  }
  get size() {
    return this.items.length;
  }
}

export class MetricRing {
  private items: MetricSample[] = [];
  readonly capacity: number;
  dropped = 0;
  constructor(capacity: number) {
    this.capacity = capacity;
  }
  push(s: MetricSample) {
    if (this.items.length >= this.capacity) {
      this.items.shift();
      this.dropped++;
    }
    this.items.push(s);
  }
  take(limit: number): MetricSample[] {
    const out = this.items.slice(0, limit);
    this.items = this.items.slice(out.length);
    return out;
  }
  get size() {
    return this.items.length;
  }
}

/** Flattens a telemetry snapshot's numeric leaves into samples (`a.b.c`). */
export function snapshotToSamples(snapshot: Record<string, unknown>, at: string, prefix = ""): MetricSample[] {
  const out: MetricSample[] = [];
  for (const [k, v] of Object.entries(snapshot)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "number" && Number.isFinite(v)) out.push({ name: name.slice(0, 128), value: v, at });
    else if (v && typeof v === "object" && !Array.isArray(v) && prefix.split(".").length < 4) {
      out.push(...snapshotToSamples(v as Record<string, unknown>, at, name));
    }
  }
  return out;
}
