// Telemetry between full snapshots: a JSON merge patch (RFC 7386) of what changed, so an idle cluster sends
// almost nothing. `null` in a patch deletes a key, as the RFC says; snapshots therefore never hold null values.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Removes null values (and undefined) so that a merge patch can express every snapshot. */
export function normaliseSnapshot(v: unknown): Json {
  if (Array.isArray(v)) return v.map((x) => normaliseSnapshot(x ?? null));
  if (isObj(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = normaliseSnapshot(x);
    return out;
  }
  if (typeof v === "number" && !Number.isFinite(v)) return null;
  return (v ?? null) as Json;
}

function equal(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]!));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => k in b && equal(a[k]!, b[k]!));
  }
  return false;
}

/** The merge patch turning `prev` into `next`; undefined when nothing changed. Arrays are replaced whole. */
export function diffSnapshot(prev: Obj, next: Obj): Obj | undefined {
  const patch: Obj = {};
  for (const k of Object.keys(prev)) if (!(k in next)) patch[k] = null;
  for (const [k, v] of Object.entries(next)) {
    const p = prev[k];
    if (p !== undefined && equal(p, v)) continue;
    if (isObj(p) && isObj(v)) {
      const sub = diffSnapshot(p, v);
      if (sub) patch[k] = sub;
    } else patch[k] = v;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/** RFC 7386 apply; what the receiving side runs on its last full snapshot. */
export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return patch;
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k] ?? null, v);
  }
  return out;
}

/**
 * Decides per tick whether to send a full snapshot or a patch: full on the first tick, after `fullEvery`
 * patches, and whenever the receiver asks (reset()).
 */
export class TelemetryDiffer {
  private last: Obj | null = null;
  private sincefull = 0;
  readonly fullEvery: number;
  constructor(fullEvery = 30) {
    this.fullEvery = fullEvery;
  }
  reset() {
    this.last = null;
  }
  next(snapshot: Record<string, unknown>): { kind: "full"; data: Obj } | { kind: "patch"; data: Obj } | null {
    const snap = normaliseSnapshot(snapshot) as Obj;
    if (!this.last || this.sincefull >= this.fullEvery) {
      this.last = snap;
      this.sincefull = 0;
      return { kind: "full", data: snap };
    }
    const patch = diffSnapshot(this.last, snap);
    this.last = snap;
    this.sincefull++;
    return patch ? { kind: "patch", data: patch } : null;
  }
}
