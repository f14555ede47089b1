// Small shared helpers: API errors (as metav1.Status), selectors, names, deep copy and comparison.

import { createHash, randomBytes } from "node:crypto";

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are free-form JSON.
export type Obj = Record<string, any>;

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: Obj | undefined;
  constructor(code: number, reason: string, message: string, details?: Obj) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): Obj {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

function qualified(group: string, plural: string): string {
  return group ? `${plural}.${group}` : plural;
}

export const errors = {
  notFound: (group: string, plural: string, name: string) =>
    new ApiError(404, "NotFound", `${qualified(group, plural)} "${name}" not found`, {
      name,
      group,
      kind: plural,
    }),
  alreadyExists: (group: string, plural: string, name: string) =>
    new ApiError(409, "AlreadyExists", `${qualified(group, plural)} "${name}" already exists`, {
      name,
      group,
      kind: plural,
    }),
  conflict: (group: string, plural: string, name: string, why?: string) =>
    new ApiError(
      409,
      "Conflict",
      `Operation cannot be fulfilled on ${qualified(group, plural)} "${name}": ${
        why ?? "the object has been modified; please apply your changes to the latest version and try again"
      }`,
      { name, group, kind: plural },
    ),
  badRequest: (message: string) => new ApiError(400, "BadRequest", message),
  invalid: (kind: string, name: string, message: string) =>
    new ApiError(422, "Invalid", `${kind} "${name}" is invalid: ${message}`, { name, kind }),
  gone: (message: string) => new ApiError(410, "Expired", message),
  forbidden: (message: string) => new ApiError(403, "Forbidden", message),
  unsupportedMedia: (message: string) => new ApiError(415, "UnsupportedMediaType", message),
  methodNotAllowed: (message: string) => new ApiError(405, "MethodNotAllowed", message),
};

export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  const ak = Object.keys(a as Obj).filter((k) => (a as Obj)[k] !== undefined);
  const bk = Object.keys(b as Obj).filter((k) => (b as Obj)[k] !== undefined);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => deepEqual((a as Obj)[k], (b as Obj)[k]));
}

const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** A random suffix in the alphabet Kubernetes uses for generateName (no vowels, no look-alikes). */
export function randomSuffix(n = 5): string {
  const bytes = randomBytes(n);
  let s = "";
  for (const b of bytes) s += NAME_ALPHABET[b % NAME_ALPHABET.length];
  return s;
}

/** A stable short hash of a value, rendered like pod-template-hash. */
export function stableHash(v: unknown, n = 10): string {
  const digest = createHash("sha256").update(canonicalJson(v)).digest();
  let s = "";
  for (let i = 0; i < n; i++) s += NAME_ALPHABET[digest[i]! % NAME_ALPHABET.length];
  return s;
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    const keys = Object.keys(v as Obj)
      .filter((k) => (v as Obj)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Obj)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

export function nowIso(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

// ---- label selectors -------------------------------------------------------------------------

interface Requirement {
  key: string;
  op: "=" | "!=" | "in" | "notin" | "exists" | "!";
  values: string[];
}

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur.trim()) parts.push(cur);
  return parts.map((p) => p.trim()).filter(Boolean);
}

export function parseLabelSelector(s: string | null | undefined): Requirement[] {
  if (!s) return [];
  return splitTopLevel(s).map((part) => {
    let m = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
    if (m) {
      return {
        key: m[1]!,
        op: m[2] as "in" | "notin",
        values: m[3]!
          .split(",")
          .map((v) => v.trim())
          .filter((v) => v !== ""),
      };
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (m) return { key: m[1]!, op: m[2] === "!=" ? "!=" : "=", values: [m[3]!.trim()] };
    if (part.startsWith("!")) return { key: part.slice(1).trim(), op: "!", values: [] };
    if (/^[A-Za-z0-9./_-]+$/.test(part)) return { key: part, op: "exists", values: [] };
    throw errors.badRequest(`unable to parse requirement: ${part}`);
  });
}

export function matchLabels(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case "=":
        return has && v === r.values[0];
      case "!=":
        return !has || v !== r.values[0];
      case "in":
        return has && r.values.includes(v!);
      case "notin":
        return !has || !r.values.includes(v!);
      case "exists":
        return has;
      case "!":
        return !has;
    }
    return false;
  });
}

/** Converts a metav1.LabelSelector (matchLabels / matchExpressions) to requirements. */
export function selectorFromSpec(sel: Obj | undefined): Requirement[] {
  if (!sel) return [];
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries((sel.matchLabels ?? {}) as Record<string, string>)) {
    reqs.push({ key: k, op: "=", values: [v] });
  }
  for (const e of (sel.matchExpressions ?? []) as Obj[]) {
    const op = String(e.operator);
    const map: Record<string, Requirement["op"]> = { In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!" };
    reqs.push({ key: String(e.key), op: map[op] ?? "exists", values: (e.values ?? []) as string[] });
  }
  return reqs;
}

export function selectorString(sel: Obj | undefined): string {
  if (!sel) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries((sel.matchLabels ?? {}) as Record<string, string>)) parts.push(`${k}=${v}`);
  for (const e of (sel.matchExpressions ?? []) as Obj[]) {
    const vals = ((e.values ?? []) as string[]).join(",");
    if (e.operator === "In") parts.push(`${e.key} in (${vals})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${vals})`);
    else if (e.operator === "Exists") parts.push(String(e.key));
    else parts.push(`!${e.key}`);
  }
  return parts.join(",");
}

// ---- field selectors -------------------------------------------------------------------------

interface FieldReq {
  path: string;
  negate: boolean;
  value: string;
}

export function parseFieldSelector(s: string | null | undefined): FieldReq[] {
  if (!s) return [];
  return s
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(part);
      if (!m) throw errors.badRequest(`invalid selector: '${part}'; can't understand '${part}'`);
      return { path: m[1]!.trim(), negate: m[2] === "!=", value: m[3]!.trim() };
    });
}

export function getPath(obj: Obj, path: string): unknown {
  let cur: unknown = obj;
  for (const seg of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Obj)[seg];
  }
  return cur;
}

export function matchFields(reqs: FieldReq[], obj: Obj): boolean {
  return reqs.every((r) => {
    const raw = getPath(obj, r.path);
    const v = raw === undefined || raw === null ? "" : String(raw);
    return r.negate ? v !== r.value : v === r.value;
  });
}
