// Patch semantics: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch and a
// simplified server-side apply, all on plain JSON objects.

import { clone, deepEqual, errors, type Obj } from "./util.ts";

function isMap(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// ---- JSON merge patch ------------------------------------------------------------------------

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return clone(patch);
  const out: Obj = isMap(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// ---- JSON patch ------------------------------------------------------------------------------

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw errors.badRequest(`invalid JSON pointer: ${path}`);
  return path
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function parentOf(doc: unknown, segs: string[], path: string): { parent: Obj | unknown[]; key: string } {
  let cur: unknown = doc;
  for (const s of segs.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(s)];
    else if (isMap(cur)) cur = cur[s];
    else cur = undefined;
    if (cur === undefined) throw errors.invalid("JSONPatch", "", `doc is missing path: "${path}"`);
  }
  if (!Array.isArray(cur) && !isMap(cur)) throw errors.invalid("JSONPatch", "", `doc is missing path: "${path}"`);
  return { parent: cur, key: segs[segs.length - 1]! };
}

function readPtr(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const s of pointer(path)) {
    if (Array.isArray(cur)) cur = cur[Number(s)];
    else if (isMap(cur)) cur = cur[s];
    else return undefined;
  }
  return cur;
}

function removePtr(doc: unknown, path: string): unknown {
  const { parent, key } = parentOf(doc, pointer(path), path);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!(i >= 0 && i < parent.length)) throw errors.invalid("JSONPatch", "", `doc is missing path: "${path}"`);
    return parent.splice(i, 1)[0];
  }
  if (!Object.hasOwn(parent, key)) throw errors.invalid("JSONPatch", "", `doc is missing path: "${path}"`);
  const v = (parent as Obj)[key];
  delete (parent as Obj)[key];
  return v;
}

function addPtr(doc: unknown, path: string, value: unknown, replace: boolean): unknown {
  const segs = pointer(path);
  if (segs.length === 0) return value;
  const { parent, key } = parentOf(doc, segs, path);
  if (Array.isArray(parent)) {
    const i = key === "-" ? parent.length : Number(key);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else {
    if (replace && !Object.hasOwn(parent, key)) {
      throw errors.invalid("JSONPatch", "", `doc is missing key: "${path}"`);
    }
    (parent as Obj)[key] = value;
  }
  return doc;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw errors.badRequest("json patch must be an array of operations");
  let doc = clone(target);
  for (const op of ops as Obj[]) {
    const path = String(op.path ?? "");
    switch (op.op) {
      case "add":
        doc = addPtr(doc, path, clone(op.value), false);
        break;
      case "replace":
        doc = addPtr(doc, path, clone(op.value), true);
        break;
      case "remove":
        removePtr(doc, path);
        break;
      case "move": {
        const v = removePtr(doc, String(op.from));
        doc = addPtr(doc, path, v, false);
        break;
      }
      case "copy":
        doc = addPtr(doc, path, clone(readPtr(doc, String(op.from))), false);
        break;
      case "test":
        if (!deepEqual(readPtr(doc, path), op.value)) {
          throw errors.invalid("JSONPatch", "", `testing value ${path} failed`);
        }
        break;
      default:
        throw errors.badRequest(`unknown json patch operation: ${op.op}`);
    }
  }
  return doc;
}

// ---- strategic merge patch -------------------------------------------------------------------

export interface ListMeta {
  /** Element key for lists of maps merged by key; undefined for primitive "set" lists. */
  mergeKey?: string;
  merge: boolean;
}

const NAME_MERGED = new Set([
  "containers",
  "initContainers",
  "ephemeralContainers",
  "env",
  "volumes",
  "imagePullSecrets",
  "resourceClaims",
  "schedulingGates",
]);

/**
 * Patch metadata of a list field, from the kind and the field path (array indexes left out).
 * Mirrors the patchStrategy / patchMergeKey tags of the built-in Go types the clients patch.
 */
export function listMeta(kind: string, path: string[]): ListMeta {
  const last = path[path.length - 1] ?? "";
  const parent = path[path.length - 2] ?? "";
  if (NAME_MERGED.has(last)) return { mergeKey: "name", merge: true };
  if (last === "ports") {
    if (parent === "containers" || parent === "initContainers" || parent === "ephemeralContainers") {
      return { mergeKey: "containerPort", merge: true };
    }
    if (kind === "Service" && path.length === 2 && path[0] === "spec") return { mergeKey: "port", merge: true };
    return { merge: false };
  }
  if (last === "volumeMounts") return { mergeKey: "mountPath", merge: true };
  if (last === "volumeDevices") return { mergeKey: "devicePath", merge: true };
  if (last === "hostAliases") return { mergeKey: "ip", merge: true };
  if (last === "topologySpreadConstraints") return { mergeKey: "topologyKey", merge: true };
  if (last === "conditions" && path[0] === "status") return { mergeKey: "type", merge: true };
  if (last === "ownerReferences" && parent === "metadata") return { mergeKey: "uid", merge: true };
  if (last === "finalizers" && parent === "metadata") return { merge: true };
  return { merge: false };
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isMap(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith("$")) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

function mergeList(kind: string, path: string[], orig: unknown, patch: unknown[]): unknown[] {
  const meta = listMeta(kind, path);
  if (!meta.merge) return stripDirectives(patch.filter((e) => !(isMap(e) && e.$patch))) as unknown[];
  const current = Array.isArray(orig) ? clone(orig) : [];
  if (!meta.mergeKey) {
    const out = [...current];
    for (const v of patch) if (!out.some((x) => deepEqual(x, v))) out.push(v);
    return out;
  }
  const key = meta.mergeKey;
  // A `$patch: replace` element means the patch list replaces the live list.
  if (patch.some((e) => isMap(e) && e.$patch === "replace")) {
    return stripDirectives(patch.filter((e) => !(isMap(e) && e.$patch))) as unknown[];
  }
  let out = current as unknown[];
  for (const el of patch) {
    if (!isMap(el)) {
      out.push(el);
      continue;
    }
    const idx = out.findIndex((x) => isMap(x) && deepEqual(x[key], el[key]));
    if (el.$patch === "delete") {
      if (idx >= 0) out = out.filter((_, i) => i !== idx);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMerge(kind, path, out[idx], el);
    else out.push(stripDirectives(el));
  }
  return out;
}

function applyOrder(list: unknown[], order: unknown[], key: string | undefined): unknown[] {
  const pos = (x: unknown): number => {
    const i = order.findIndex((o) => (key && isMap(o) && isMap(x) ? deepEqual(o[key], x[key]) : deepEqual(o, x)));
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return list
    .map((x, i) => ({ x, i, p: pos(x) }))
    .sort((a, b) => a.p - b.p || a.i - b.i)
    .map((e) => e.x);
}

/** Applies a strategic merge patch the way the API server does for built-in kinds. */
export function strategicMerge(kind: string, path: string[], original: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return clone(patch);
  if (patch.$patch === "replace") return stripDirectives(patch);
  if (patch.$patch === "delete") return undefined;
  const out: Obj = isMap(original) ? clone(original) : {};
  const orders: [string, unknown[]][] = [];
  let retain: string[] | undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$patch") continue;
    if (k === "$retainKeys") {
      retain = v as string[];
      continue;
    }
    if (k.startsWith("$setElementOrder/")) {
      orders.push([k.slice("$setElementOrder/".length), v as unknown[]]);
      continue;
    }
    if (k.startsWith("$deleteFromPrimitiveList/")) {
      const field = k.slice("$deleteFromPrimitiveList/".length);
      const cur = out[field];
      if (Array.isArray(cur)) out[field] = cur.filter((x) => !(v as unknown[]).some((d) => deepEqual(d, x)));
      continue;
    }
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      out[k] = mergeList(kind, [...path, k], out[k], v);
    } else if (isMap(v)) {
      const merged = strategicMerge(kind, [...path, k], out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  for (const [field, order] of orders) {
    const cur = out[field];
    if (Array.isArray(cur)) out[field] = applyOrder(cur, order, listMeta(kind, [...path, field]).mergeKey);
  }
  if (retain) {
    for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  }
  return out;
}

// ---- server-side apply -----------------------------------------------------------------------

/**
 * Removes from `live` the fields a manager applied before (`previous`) but no longer applies
 * (`next`). Lists merged by key lose the elements the manager dropped; other lists are replaced by
 * the merge that follows.
 */
function pruneDropped(kind: string, path: string[], live: unknown, previous: unknown, next: unknown): unknown {
  if (!isMap(live) || !isMap(previous)) return live;
  const out: Obj = { ...live };
  const nextMap = isMap(next) ? next : {};
  for (const [k, pv] of Object.entries(previous)) {
    if (!Object.hasOwn(nextMap, k)) {
      delete out[k];
      continue;
    }
    const nv = nextMap[k];
    if (isMap(pv)) out[k] = pruneDropped(kind, [...path, k], out[k], pv, nv);
    else if (Array.isArray(pv) && Array.isArray(out[k])) {
      const meta = listMeta(kind, [...path, k]);
      if (meta.merge && meta.mergeKey) {
        const key = meta.mergeKey;
        const nextList = Array.isArray(nv) ? nv : [];
        out[k] = (out[k] as unknown[])
          .filter((el) => {
            if (!isMap(el)) return true;
            const wasApplied = pv.some((p) => isMap(p) && deepEqual(p[key], el[key]));
            const stillApplied = nextList.some((p) => isMap(p) && deepEqual(p[key], el[key]));
            return !wasApplied || stillApplied;
          })
          .map((el) => {
            if (!isMap(el)) return el;
            const p = pv.find((x) => isMap(x) && deepEqual(x[key], el[key]));
            const n = nextList.find((x) => isMap(x) && deepEqual(x[key], el[key]));
            return p ? pruneDropped(kind, [...path, k], el, p, n) : el;
          });
      } else if (meta.merge) {
        const nextList = Array.isArray(nv) ? nv : [];
        out[k] = (out[k] as unknown[]).filter(
          (el) => !pv.some((p) => deepEqual(p, el)) || nextList.some((p) => deepEqual(p, el)),
        );
      }
    }
  }
  return out;
}

/** Server-side apply: merges the applied configuration and drops what this manager stopped applying. */
export function serverSideApply(kind: string, live: Obj, previous: Obj | undefined, applied: Obj): Obj {
  const base = previous ? (pruneDropped(kind, [], live, previous, applied) as Obj) : clone(live);
  return strategicMerge(kind, [], base, applied) as Obj;
}

/** A managedFields fieldsV1 set describing the fields of a configuration. */
export function fieldSet(kind: string, path: string[], v: unknown): Obj {
  const out: Obj = {};
  if (!isMap(v)) return out;
  for (const [k, x] of Object.entries(v)) {
    if (path.length === 0 && (k === "apiVersion" || k === "kind")) continue;
    if (path.length === 1 && path[0] === "metadata" && (k === "name" || k === "namespace")) continue;
    const f = `f:${k}`;
    if (isMap(x)) out[f] = fieldSet(kind, [...path, k], x);
    else if (Array.isArray(x)) {
      const meta = listMeta(kind, [...path, k]);
      if (meta.merge && meta.mergeKey) {
        const sub: Obj = {};
        for (const el of x) {
          if (!isMap(el)) continue;
          sub[`k:${JSON.stringify({ [meta.mergeKey]: el[meta.mergeKey] })}`] = {
            ".": {},
            ...fieldSet(kind, [...path, k], el),
          };
        }
        out[f] = sub;
      } else if (meta.merge) {
        const sub: Obj = {};
        for (const el of x) sub[`v:${JSON.stringify(el)}`] = {};
        out[f] = sub;
      } else out[f] = {};
    } else out[f] = {};
  }
  return out;
}
