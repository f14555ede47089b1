// In-memory object storage: a Map per resource, one global resourceVersion counter and a bounded
// event history that watches replay from.

import { clone, type Obj } from "./util.ts";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  rv: number;
  type: EventType;
  /** resourceKey() of the resource the object belongs to. */
  key: string;
  obj: Obj;
  /** The object before this change (MODIFIED / DELETED), for selector transitions. */
  prev: Obj | undefined;
}

function objKey(ns: string | undefined, name: string): string {
  return `${ns ?? ""}/${name}`;
}

export class Store {
  private rv = 1000;
  private readonly data = new Map<string, Map<string, Obj>>();
  private history: StoreEvent[] = [];
  /** Highest resourceVersion whose event is no longer replayable. */
  private compactedRv = 0;
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  private readonly historySize: number;

  constructor(historySize = 5000) {
    this.historySize = historySize;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  get compactedResourceVersion(): number {
    return this.compactedRv;
  }

  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get(key: string, ns: string | undefined, name: string): Obj | undefined {
    return clone(this.data.get(key)?.get(objKey(ns, name)));
  }

  /** Objects of a resource, sorted by namespace then name (the order the API server lists in). */
  list(key: string, ns?: string): Obj[] {
    const m = this.data.get(key);
    if (!m) return [];
    const out: Obj[] = [];
    for (const [k, v] of m) {
      if (ns !== undefined && !k.startsWith(`${ns}/`)) continue;
      out.push(clone(v));
    }
    return out.sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
  }

  keys(): string[] {
    return [...this.data.keys()];
  }

  /** Writes an object with a fresh resourceVersion and tells watchers. */
  put(key: string, obj: Obj): Obj {
    const m = this.data.get(key) ?? new Map<string, Obj>();
    this.data.set(key, m);
    const k = objKey(obj.metadata?.namespace, obj.metadata.name);
    const prev = m.get(k);
    this.rv++;
    const stored = clone(obj);
    stored.metadata.resourceVersion = String(this.rv);
    m.set(k, stored);
    this.emit({ rv: this.rv, type: prev ? "MODIFIED" : "ADDED", key, obj: stored, prev });
    return clone(stored);
  }

  remove(key: string, ns: string | undefined, name: string): Obj | undefined {
    const m = this.data.get(key);
    const k = objKey(ns, name);
    const prev = m?.get(k);
    if (!m || !prev) return undefined;
    m.delete(k);
    this.rv++;
    const gone = clone(prev);
    gone.metadata.resourceVersion = String(this.rv);
    this.emit({ rv: this.rv, type: "DELETED", key, obj: gone, prev });
    return clone(gone);
  }

  /** Drops every object of a resource without events (a CRD and its objects going away). */
  dropResource(key: string): void {
    this.data.delete(key);
  }

  /**
   * Events after `rv` for a resource, or "gone" when history no longer reaches back that far.
   */
  eventsSince(key: string, rv: number): StoreEvent[] | "gone" {
    if (rv < this.compactedRv) return "gone";
    return this.history.filter((e) => e.rv > rv && e.key === key);
  }

  /** Forgets all history up to now: later watches from older resourceVersions get 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  private emit(e: StoreEvent): void {
    this.history.push(e);
    if (this.history.length > this.historySize) {
      const dropped = this.history.splice(0, this.history.length - this.historySize);
      this.compactedRv = dropped[dropped.length - 1]!.rv;
    }
    for (const fn of this.listeners) fn(e);
  }
}

function sortKey(o: Obj): string {
  return `${o.metadata?.namespace ?? ""}\u0000${o.metadata?.name ?? ""}`;
}
