// Discovery documents (legacy and aggregated v2 / v2beta1) and OpenAPI v3 documents built from the
// resource table.

import { createHash } from "node:crypto";
import { groupVersion, type Registry, type ResourceDef } from "./resources.ts";
import type { Obj } from "./util.ts";

const SUB_VERBS: Record<string, string[]> = {
  status: ["get", "patch", "update"],
  scale: ["get", "patch", "update"],
  log: ["get"],
  finalize: ["update"],
};

function subKind(def: ResourceDef, sub: string): { group: string; version: string; kind: string } {
  if (sub === "scale") return { group: "autoscaling", version: "v1", kind: "Scale" };
  if (sub === "log") return { group: "", version: "v1", kind: "Pod" };
  return { group: def.group, version: def.version, kind: def.kind };
}

/** Legacy APIResourceList for one group/version. */
export function resourceList(reg: Registry, group: string, version: string): Obj | undefined {
  const defs = reg.defs.filter((d) => d.group === group && d.version === version);
  if (!defs.length) return undefined;
  const resources: Obj[] = [];
  for (const d of defs) {
    resources.push({
      name: d.plural,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: d.verbs,
      ...(d.shortNames.length ? { shortNames: d.shortNames } : {}),
      ...(d.categories.length ? { categories: d.categories } : {}),
      storageVersionHash: createHash("sha256").update(`${d.group}/${d.plural}`).digest("base64").slice(0, 11),
    });
    for (const s of d.subresources) {
      const k = subKind(d, s);
      resources.push({
        name: `${d.plural}/${s}`,
        singularName: "",
        namespaced: d.namespaced,
        ...(s === "scale" ? { group: k.group, version: k.version } : {}),
        kind: k.kind,
        verbs: SUB_VERBS[s] ?? ["get"],
      });
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

export function apiVersions(hostPort: string): Obj {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: hostPort }],
  };
}

function apiGroup(group: string, versions: string[]): Obj {
  const vs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { kind: "APIGroup", apiVersion: "v1", name: group, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(reg: Registry): Obj {
  const groups: Obj[] = [];
  for (const [g, vs] of reg.groups()) if (g) groups.push(apiGroup(g, vs));
  return { kind: "APIGroupList", apiVersion: "v1", groups };
}

export function apiGroupDoc(reg: Registry, group: string): Obj | undefined {
  const vs = reg.groups().get(group);
  return vs && group ? apiGroup(group, vs) : undefined;
}

/** Aggregated discovery: `/api` (core only) or `/apis` (every named group). */
export function aggregated(reg: Registry, core: boolean, version: "v2" | "v2beta1"): Obj {
  const items: Obj[] = [];
  for (const [g, vs] of reg.groups()) {
    if (core !== (g === "")) continue;
    items.push({
      metadata: { name: g, creationTimestamp: null },
      versions: vs.map((v) => ({
        version: v,
        resources: reg.defs
          .filter((d) => d.group === g && d.version === v)
          .map((d) => ({
            resource: d.plural,
            responseKind: { group: d.group, version: d.version, kind: d.kind },
            scope: d.namespaced ? "Namespaced" : "Cluster",
            singularResource: d.singular,
            verbs: d.verbs,
            ...(d.shortNames.length ? { shortNames: d.shortNames } : {}),
            ...(d.categories.length ? { categories: d.categories } : {}),
            ...(d.subresources.length
              ? {
                  subresources: d.subresources.map((s) => ({
                    subresource: s,
                    responseKind: subKind(d, s),
                    verbs: SUB_VERBS[s] ?? ["get"],
                  })),
                }
              : {}),
          })),
        freshness: "Current",
      })),
    });
  }
  return { kind: "APIGroupDiscoveryList", apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}

// ---- OpenAPI v3 --------------------------------------------------------------------------------

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function docHash(reg: Registry, group: string, version: string): string {
  const kinds = reg.defs.filter((d) => d.group === group && d.version === version).map((d) => d.plural);
  return createHash("sha256").update(kinds.join(",")).digest("hex").slice(0, 32).toUpperCase();
}

/** `/openapi/v3`: the index of per-group-version documents. */
export function openApiIndex(reg: Registry): Obj {
  const paths: Obj = {};
  for (const [g, vs] of reg.groups()) {
    for (const v of vs) {
      const p = gvPath(g, v);
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${docHash(reg, g, v)}` };
    }
  }
  return { paths };
}

function schemaName(d: ResourceDef): string {
  if (d.custom) return `${d.group.split(".").reverse().join(".")}.${d.version}.${d.kind}`;
  const g = d.group === "" ? "core" : d.group.replace(/\.k8s\.io$/, "").replace(/\./g, "_");
  return `io.k8s.api.${g}.${d.version}.${d.kind}`;
}

const QUERY = (name: string) => ({ name, in: "query", schema: { type: "string", uniqueItems: true } });

/**
 * One group/version's OpenAPI v3 document. Schemas are open (unknown fields preserved); the PATCH
 * operations list `fieldValidation` so kubectl and helm hand validation to the server.
 */
export function openApiDoc(reg: Registry, group: string, version: string, gitVersion: string): Obj | undefined {
  const defs = reg.defs.filter((d) => d.group === group && d.version === version);
  if (!defs.length) return undefined;
  const paths: Obj = {};
  const schemas: Obj = {};
  for (const d of defs) {
    const gvk = { group: d.group, version: d.version, kind: d.kind };
    const ref = { $ref: `#/components/schemas/${schemaName(d)}` };
    const ok = { "200": { description: "OK", content: { "application/json": { schema: ref } } } };
    const base = `/${gvPath(d.group, d.version)}${d.namespaced ? "/namespaces/{namespace}" : ""}/${d.plural}`;
    const op = (action: string, params: string[]) => ({
      operationId: `${action}${d.kind}`,
      "x-kubernetes-action": action,
      "x-kubernetes-group-version-kind": gvk,
      parameters: params.map(QUERY),
      responses: ok,
    });
    paths[base] = {
      get: op("list", ["labelSelector", "fieldSelector", "limit", "continue", "watch", "resourceVersion"]),
      post: op("post", ["dryRun", "fieldManager", "fieldValidation"]),
    };
    if (!d.virtual) {
      paths[`${base}/{name}`] = {
        get: op("get", []),
        put: op("put", ["dryRun", "fieldManager", "fieldValidation"]),
        patch: op("patch", ["dryRun", "fieldManager", "fieldValidation", "force"]),
        delete: op("delete", ["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
      };
    }
    schemas[schemaName(d)] = {
      type: "object",
      description: `${d.kind} (k8s-sim: open schema, unknown fields are preserved)`,
      properties: {
        apiVersion: { type: "string" },
        kind: { type: "string" },
        metadata: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
      },
      "x-kubernetes-preserve-unknown-fields": true,
      "x-kubernetes-group-version-kind": [gvk],
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: gitVersion },
    paths,
    components: { schemas },
  };
}

export { groupVersion };
