// Validates rendered manifests against the Kubernetes API schema of one Kubernetes version: the kind must be served
// by that version (group/version/kind), every field must exist in that version's OpenAPI model (no unknown fields,
// as `kubectl --validate=strict` / kubeconform -strict), every value must have the field's type, and every
// required field must be present. Schemas: ./k8s-schemas/<version>.json (see generate.mjs there).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface Model {
  fields: Record<string, string>;
  required: string[];
}
interface SchemaFile {
  kubernetes: string;
  source: string;
  kinds: Record<string, string>;
  models: Record<string, Model>;
}

export const KUBERNETES_VERSIONS = ["1.30", "1.32", "1.33", "1.34", "1.36"] as const;

/** Custom resources the charts may render; they are not part of any Kubernetes release and are checked by tests. */
export const KNOWN_CRDS = new Set(["monitoring.coreos.com/v1/ServiceMonitor", "traefik.io/v1alpha1/ServersTransport"]);

const here = dirname(fileURLToPath(import.meta.url));
const cache = new Map<string, SchemaFile>();

export function loadSchema(version: string): SchemaFile {
  let s = cache.get(version);
  if (!s) {
    s = JSON.parse(readFileSync(join(here, "k8s-schemas", `${version}.json`), "utf8")) as SchemaFile;
    cache.set(version, s);
  }
  return s;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function check(schema: SchemaFile, value: unknown, type: string, path: string, errors: string[]): void {
  if (value === null || value === undefined) return; // null = unset, accepted by the API server for optional fields
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr?.[1]) {
    if (!Array.isArray(value)) {
      errors.push(`${path}: expected array, got ${typeName(value)}`);
      return;
    }
    value.forEach((item, i) => {
      check(schema, item, arr[1] as string, `${path}[${i}]`, errors);
    });
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map?.[1]) {
    if (typeName(value) !== "object") {
      errors.push(`${path}: expected map, got ${typeName(value)}`);
      return;
    }
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      check(schema, v, map[1], `${path}.${k}`, errors);
    return;
  }
  switch (type) {
    case "string":
    case "Date":
      if (typeof value !== "string")
        errors.push(`${path}: expected string, got ${typeName(value)} (${JSON.stringify(value)})`);
      return;
    case "number":
      if (typeof value !== "number")
        errors.push(`${path}: expected number, got ${typeName(value)} (${JSON.stringify(value)})`);
      return;
    case "boolean":
      if (typeof value !== "boolean")
        errors.push(`${path}: expected boolean, got ${typeName(value)} (${JSON.stringify(value)})`);
      return;
    case "IntOrString":
      if (typeof value !== "string" && typeof value !== "number")
        errors.push(`${path}: expected int or string, got ${typeName(value)}`);
      return;
    case "any":
    case "object":
      return;
  }
  const model = schema.models[type];
  if (!model) {
    errors.push(`${path}: no schema for type ${type} in Kubernetes ${schema.kubernetes}`);
    return;
  }
  if (typeName(value) !== "object") {
    errors.push(`${path}: expected object (${type}), got ${typeName(value)}`);
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    const ft = model.fields[k];
    if (ft === undefined) {
      errors.push(`${path}.${k}: unknown field (not in ${type} of Kubernetes ${schema.kubernetes})`);
      continue;
    }
    check(schema, v, ft, `${path}.${k}`, errors);
  }
  for (const r of model.required) {
    if (obj[r] === undefined || obj[r] === null) errors.push(`${path}.${r}: required field missing (${type})`);
  }
}

export interface ValidationResult {
  /** "<apiVersion>/<kind> <name>" */
  resource: string;
  status: "valid" | "invalid" | "crd";
  errors: string[];
}

/** Validates one manifest against the schema of one Kubernetes version. */
export function validateManifest(doc: Record<string, unknown>, version: string): ValidationResult {
  const schema = loadSchema(version);
  const apiVersion = String(doc.apiVersion ?? "");
  const kind = String(doc.kind ?? "");
  const meta = (doc.metadata ?? {}) as Record<string, unknown>;
  const resource = `${apiVersion}/${kind} ${String(meta.name ?? "?")}`;
  const gvk = `${apiVersion}/${kind}`;
  if (KNOWN_CRDS.has(gvk)) return { resource, status: "crd", errors: [] };
  const modelName = schema.kinds[gvk];
  if (!modelName) {
    return { resource, status: "invalid", errors: [`${gvk} is not served by Kubernetes ${version}`] };
  }
  const errors: string[] = [];
  check(schema, doc, modelName, kind, errors);
  if (!meta.name) errors.push(`${kind}.metadata.name: required`);
  return { resource, status: errors.length ? "invalid" : "valid", errors };
}
