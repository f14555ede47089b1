// API semantics over the store: create / update / patch / delete with resourceVersion checks,
// generateName, defaults, status subresources, finalizers, garbage collection and CRDs.

import { randomUUID } from "node:crypto";
import { applyDefaults } from "./defaults.ts";
import { fieldSet, jsonPatch, mergePatch, serverSideApply, strategicMerge } from "./patch.ts";
import { groupVersion, type Registry, type ResourceDef, resourceKey } from "./resources.ts";
import type { Store } from "./store.ts";
import {
  ApiError,
  clone,
  deepEqual,
  errors,
  matchFields,
  matchLabels,
  nowIso,
  type Obj,
  parseFieldSelector,
  parseLabelSelector,
  randomSuffix,
} from "./util.ts";

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  subresource?: string;
  /** Keep the status given on create (seeding); the API server would clear it. */
  keepStatus?: boolean;
  force?: boolean;
}

export interface DeleteOptions {
  dryRun?: boolean;
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface ListOptions {
  labelSelector?: string | null;
  fieldSelector?: string | null;
}

export const PATCH_TYPES = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
  applyCbor: "application/apply-patch+cbor",
};

/** Fields of the object a spec write may not change. */
function preserveSystemMeta(next: Obj, cur: Obj): void {
  next.metadata.uid = cur.metadata.uid;
  next.metadata.creationTimestamp = cur.metadata.creationTimestamp;
  next.metadata.name = cur.metadata.name;
  if (cur.metadata.namespace) next.metadata.namespace = cur.metadata.namespace;
  else delete next.metadata.namespace;
  if (cur.metadata.deletionTimestamp) next.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
  else delete next.metadata.deletionTimestamp;
  if (cur.metadata.deletionGracePeriodSeconds !== undefined) {
    next.metadata.deletionGracePeriodSeconds = cur.metadata.deletionGracePeriodSeconds;
  }
  if (cur.metadata.generateName && !next.metadata.generateName) next.metadata.generateName = cur.metadata.generateName;
}

function specPart(o: Obj): Obj {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

export class Api {
  readonly registry: Registry;
  readonly store: Store;
  /** Last configuration each field manager applied, per object uid (server-side apply). */
  private readonly applied = new Map<string, Obj>();
  private ipCounter = 10;

  constructor(registry: Registry, store: Store) {
    this.registry = registry;
    this.store = store;
  }

  /** The resource for a kind name (Kind, plural or short name), optionally pinned to an apiVersion. */
  def(kind: string, apiVersion?: string): ResourceDef {
    const d = this.registry.byKind(kind, apiVersion);
    if (!d) throw errors.badRequest(`no resource for kind ${kind}${apiVersion ? ` in ${apiVersion}` : ""}`);
    return d;
  }

  get(def: ResourceDef, ns: string | undefined, name: string): Obj {
    const o = this.store.get(resourceKey(def), def.namespaced ? ns : undefined, name);
    if (!o) throw errors.notFound(def.group, def.plural, name);
    return this.present(def, o);
  }

  tryGet(def: ResourceDef, ns: string | undefined, name: string): Obj | undefined {
    const o = this.store.get(resourceKey(def), def.namespaced ? ns : undefined, name);
    return o ? this.present(def, o) : undefined;
  }

  list(def: ResourceDef, ns: string | undefined, opts: ListOptions = {}): Obj[] {
    const labels = parseLabelSelector(opts.labelSelector);
    const fields = parseFieldSelector(opts.fieldSelector);
    return this.store
      .list(resourceKey(def), def.namespaced ? ns : undefined)
      .filter((o) => matchLabels(labels, o.metadata?.labels) && matchFields(fields, o))
      .map((o) => this.present(def, o));
  }

  /** Stamps the apiVersion / kind of the version the object is read through. */
  present(def: ResourceDef, o: Obj): Obj {
    o.apiVersion = groupVersion(def);
    o.kind = def.kind;
    return o;
  }

  private checkNamespace(def: ResourceDef, ns: string | undefined): void {
    if (!def.namespaced) return;
    if (!ns) throw errors.badRequest("the server could not find the requested resource (namespace required)");
    const nsDef = this.def("Namespace");
    const n = this.store.get(resourceKey(nsDef), undefined, ns);
    if (!n) throw errors.notFound("", "namespaces", ns);
    if (n.metadata.deletionTimestamp) {
      throw errors.forbidden(
        `${def.plural} "" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
      );
    }
  }

  create(def: ResourceDef, ns: string | undefined, body: Obj, opts: WriteOptions = {}): Obj {
    if (!body || typeof body !== "object" || Array.isArray(body))
      throw errors.badRequest("request body must be an object");
    const o = clone(body);
    o.metadata ??= {};
    if (def.namespaced) {
      const bodyNs = o.metadata.namespace;
      if (bodyNs && ns && bodyNs !== ns) {
        throw errors.badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      ns = ns ?? bodyNs;
      o.metadata.namespace = ns;
    } else delete o.metadata.namespace;
    if (def.virtual) return this.review(def, o);
    if (!o.metadata.name) {
      if (!o.metadata.generateName) {
        throw errors.invalid(def.kind, "", "metadata.name: Required value: name or generateName is required");
      }
      o.metadata.name = `${o.metadata.generateName}${randomSuffix()}`;
    }
    const name = String(o.metadata.name);
    if (def.kind !== "Namespace" && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) && !def.custom) {
      if (
        def.kind !== "Role" &&
        def.kind !== "ClusterRole" &&
        def.kind !== "RoleBinding" &&
        def.kind !== "ClusterRoleBinding"
      ) {
        throw errors.invalid(
          def.kind,
          name,
          `metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
        );
      }
    }
    this.checkNamespace(def, ns);
    const key = resourceKey(def);
    if (this.store.get(key, def.namespaced ? ns : undefined, name))
      throw errors.alreadyExists(def.group, def.plural, name);
    o.apiVersion = groupVersion(def);
    o.kind = def.kind;
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = nowIso();
    o.metadata.generation = 1;
    delete o.metadata.resourceVersion;
    delete o.metadata.deletionTimestamp;
    if (!opts.keepStatus && def.subresources.includes("status")) delete o.status;
    applyDefaults(def.kind, o);
    this.onCreate(def, o);
    if (opts.fieldManager && !opts.keepStatus) this.recordManager(def, o, opts.fieldManager, "Update", o);
    if (opts.dryRun) return this.present(def, o);
    const stored = this.store.put(key, o);
    this.afterWrite(def, stored);
    return this.present(def, stored);
  }

  /** Create-time behaviour the API server's registry adds for some kinds. */
  private onCreate(def: ResourceDef, o: Obj): void {
    switch (def.kind) {
      case "Service":
        if (o.spec.type !== "ExternalName" && o.spec.clusterIP !== "None" && !o.spec.clusterIP) {
          this.ipCounter++;
          o.spec.clusterIP = `10.43.${Math.floor(this.ipCounter / 250)}.${(this.ipCounter % 250) + 2}`;
        }
        if (o.spec.clusterIP) o.spec.clusterIPs ??= [o.spec.clusterIP];
        if (o.spec.type === "NodePort" || o.spec.type === "LoadBalancer") {
          for (const p of (o.spec.ports ?? []) as Obj[]) p.nodePort ??= 30000 + Math.floor(Math.random() * 2767);
        }
        o.status ??= { loadBalancer: {} };
        break;
      case "Namespace":
        o.status = { phase: "Active" };
        break;
      case "Pod":
        o.status ??= { phase: "Pending", qosClass: "BestEffort" };
        break;
      case "PersistentVolumeClaim":
        o.status ??= { phase: "Pending" };
        break;
      case "PersistentVolume":
        o.status ??= { phase: "Available" };
        break;
      case "CustomResourceDefinition":
        o.status = {
          acceptedNames: o.spec?.names ?? {},
          storedVersions: ((o.spec?.versions ?? []) as Obj[]).filter((v) => v.storage).map((v) => v.name),
          conditions: [
            {
              type: "NamesAccepted",
              status: "True",
              reason: "NoConflicts",
              message: "no conflicts found",
              lastTransitionTime: nowIso(),
            },
            {
              type: "Established",
              status: "True",
              reason: "InitialNamesAccepted",
              message: "the initial names have been accepted",
              lastTransitionTime: nowIso(),
            },
          ],
        };
        break;
    }
  }

  private afterWrite(def: ResourceDef, o: Obj): void {
    if (def.kind === "CustomResourceDefinition" && def.group === "apiextensions.k8s.io") this.registry.registerCrd(o);
  }

  /** Answers the review kinds (access reviews): everything is allowed for the simulator's user. */
  private review(def: ResourceDef, o: Obj): Obj {
    o.apiVersion = groupVersion(def);
    o.kind = def.kind;
    o.metadata.creationTimestamp = null;
    if (def.kind === "SelfSubjectAccessReview") o.status = { allowed: true, reason: "k8s-sim allows everything" };
    else if (def.kind === "SelfSubjectRulesReview") {
      o.status = {
        resourceRules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }],
        nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }],
        incomplete: false,
      };
    } else o.status = { userInfo: { username: "k8s-sim-admin", groups: ["system:masters", "system:authenticated"] } };
    return o;
  }

  update(def: ResourceDef, ns: string | undefined, name: string, body: Obj, opts: WriteOptions = {}): Obj {
    if (!body || typeof body !== "object" || Array.isArray(body))
      throw errors.badRequest("request body must be an object");
    const key = resourceKey(def);
    const nsKey = def.namespaced ? ns : undefined;
    const cur = this.store.get(key, nsKey, name);
    if (!cur) throw errors.notFound(def.group, def.plural, name);
    if (body.metadata?.name && body.metadata.name !== name) {
      throw errors.badRequest(
        `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const wantRv = body.metadata?.resourceVersion;
    if (wantRv && wantRv !== cur.metadata.resourceVersion) throw errors.conflict(def.group, def.plural, name);
    let next: Obj;
    if (opts.subresource === "status") {
      next = clone(cur);
      if (body.status === undefined) delete next.status;
      else next.status = clone(body.status);
    } else {
      next = clone(body);
      next.metadata ??= {};
      preserveSystemMeta(next, cur);
      if (def.subresources.includes("status")) {
        if (cur.status === undefined) delete next.status;
        else next.status = cur.status;
      }
      applyDefaults(def.kind, next);
      if (def.kind === "Service") {
        next.spec.clusterIP ??= cur.spec?.clusterIP;
        next.spec.clusterIPs ??= cur.spec?.clusterIPs;
      }
    }
    next.apiVersion = groupVersion(def);
    next.kind = def.kind;
    next.metadata.generation = cur.metadata.generation ?? 1;
    if (!deepEqual(specPart(next), specPart(cur))) next.metadata.generation++;
    next.metadata.resourceVersion = cur.metadata.resourceVersion;
    if (opts.fieldManager) this.recordManager(def, next, opts.fieldManager, "Update", body, opts.subresource);
    else next.metadata.managedFields = cur.metadata.managedFields;
    if (opts.dryRun) return this.present(def, next);
    // A write that changes nothing does not bump the resourceVersion nor wake watchers.
    if (deepEqual(withoutVolatile(next), withoutVolatile(cur))) return this.present(def, cur);
    if (next.metadata.deletionTimestamp && !(next.metadata.finalizers ?? []).length) {
      return this.present(def, this.finishDelete(def, next));
    }
    const stored = this.store.put(key, next);
    this.afterWrite(def, stored);
    return this.present(def, stored);
  }

  patch(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    contentType: string,
    body: unknown,
    opts: WriteOptions = {},
  ): Obj {
    const type = contentType.split(";")[0]!.trim().toLowerCase();
    const key = resourceKey(def);
    const cur = this.store.get(key, def.namespaced ? ns : undefined, name);
    if (type === PATCH_TYPES.apply || type === PATCH_TYPES.applyCbor) {
      if (!opts.fieldManager)
        throw errors.badRequest(
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        );
      const applied = body as Obj;
      if (!applied || typeof applied !== "object") throw errors.badRequest("apply patch must be an object");
      if (applied.metadata?.name && applied.metadata.name !== name) {
        throw errors.badRequest(
          `the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`,
        );
      }
      if (!cur) {
        if (opts.subresource) throw errors.notFound(def.group, def.plural, name);
        const o = clone(applied);
        o.metadata ??= {};
        o.metadata.name = name;
        const created = this.create(def, ns, o, { dryRun: opts.dryRun, keepStatus: false });
        if (!opts.dryRun) return this.recordApply(def, created, applied, opts);
        return created;
      }
      const prevKey = `${cur.metadata.uid}/${opts.fieldManager}${opts.subresource ? `/${opts.subresource}` : ""}`;
      const merged = serverSideApply(def.kind, cur, this.applied.get(prevKey), applied);
      merged.metadata.resourceVersion = applied.metadata?.resourceVersion;
      const updated = this.update(def, ns, name, merged, { dryRun: opts.dryRun, subresource: opts.subresource });
      if (opts.dryRun) return updated;
      return this.recordApply(def, updated, applied, opts);
    }
    if (!cur) throw errors.notFound(def.group, def.plural, name);
    let next: unknown;
    if (type === PATCH_TYPES.json) next = jsonPatch(cur, body);
    else if (type === PATCH_TYPES.merge || type === "application/json") next = mergePatch(cur, body);
    else if (type === PATCH_TYPES.strategic) {
      if (def.custom) {
        throw errors.unsupportedMedia(
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
        );
      }
      next = strategicMerge(def.kind, [], cur, body);
    } else throw errors.unsupportedMedia(`the media type ${type} is not a supported patch type`);
    if (!next || typeof next !== "object" || Array.isArray(next))
      throw errors.badRequest("patch produced a non-object");
    const n = next as Obj;
    n.metadata ??= {};
    // The patch may carry a resourceVersion precondition; otherwise it applies to the latest object.
    const patchRv = (body as Obj)?.metadata?.resourceVersion;
    n.metadata.resourceVersion = type === PATCH_TYPES.json ? n.metadata.resourceVersion : patchRv;
    if (type === PATCH_TYPES.json && n.metadata.resourceVersion === cur.metadata.resourceVersion) {
      delete n.metadata.resourceVersion;
    }
    return this.update(def, ns, name, n, opts);
  }

  /** Applies a JSON / merge / strategic patch to a value that is not stored (e.g. a Scale). */
  applyPatchToValue(contentType: string, value: Obj, body: unknown): Obj {
    const type = contentType.split(";")[0]!.trim().toLowerCase();
    if (type === PATCH_TYPES.json) return jsonPatch(value, body) as Obj;
    if (type === PATCH_TYPES.strategic) return strategicMerge("Scale", [], value, body) as Obj;
    return mergePatch(value, body) as Obj;
  }

  private recordApply(def: ResourceDef, live: Obj, applied: Obj, opts: WriteOptions): Obj {
    const prevKey = `${live.metadata.uid}/${opts.fieldManager}${opts.subresource ? `/${opts.subresource}` : ""}`;
    this.applied.set(prevKey, clone(applied));
    const next = clone(live);
    this.recordManager(def, next, opts.fieldManager!, "Apply", applied, opts.subresource);
    if (deepEqual(next.metadata.managedFields, live.metadata.managedFields)) return live;
    const stored = this.store.put(resourceKey(def), next);
    return this.present(def, stored);
  }

  private recordManager(
    def: ResourceDef,
    o: Obj,
    manager: string,
    operation: string,
    config: Obj,
    subresource?: string,
  ): void {
    const entries = ((o.metadata.managedFields ?? []) as Obj[]).filter(
      (e) => !(e.manager === manager && e.operation === operation && (e.subresource ?? "") === (subresource ?? "")),
    );
    entries.push({
      manager,
      operation,
      apiVersion: groupVersion(def),
      time: nowIso(),
      fieldsType: "FieldsV1",
      fieldsV1: fieldSet(def.kind, [], config),
      ...(subresource ? { subresource } : {}),
    });
    o.metadata.managedFields = entries;
  }

  delete(def: ResourceDef, ns: string | undefined, name: string, opts: DeleteOptions = {}): Obj {
    const key = resourceKey(def);
    const nsKey = def.namespaced ? ns : undefined;
    const cur = this.store.get(key, nsKey, name);
    if (!cur) throw errors.notFound(def.group, def.plural, name);
    const pre = opts.preconditions ?? {};
    if (pre.uid && pre.uid !== cur.metadata.uid) {
      throw errors.conflict(
        def.group,
        def.plural,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`,
      );
    }
    if (pre.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw errors.conflict(
        def.group,
        def.plural,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`,
      );
    }
    if (opts.dryRun) return this.present(def, cur);
    if (def.kind === "Namespace") {
      if (!cur.metadata.deletionTimestamp) {
        cur.metadata.deletionTimestamp = nowIso();
        cur.metadata.deletionGracePeriodSeconds = 0;
        cur.status = { ...(cur.status ?? {}), phase: "Terminating" };
        return this.present(def, this.store.put(key, cur));
      }
      return this.present(def, cur);
    }
    if ((cur.metadata.finalizers ?? []).length > 0) {
      if (!cur.metadata.deletionTimestamp) {
        cur.metadata.deletionTimestamp = nowIso();
        cur.metadata.deletionGracePeriodSeconds = 0;
        return this.present(def, this.store.put(key, cur));
      }
      return this.present(def, cur);
    }
    this.finishDelete(def, cur, opts.propagationPolicy);
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name, group: def.group, kind: def.plural, uid: cur.metadata.uid },
    };
  }

  /** Removes an object for good and collects its dependents (background or orphan propagation). */
  private finishDelete(def: ResourceDef, cur: Obj, propagation?: string): Obj {
    const gone = this.store.remove(
      resourceKey(def),
      def.namespaced ? cur.metadata.namespace : undefined,
      cur.metadata.name,
    );
    for (const k of [...this.applied.keys()]) if (k.startsWith(`${cur.metadata.uid}/`)) this.applied.delete(k);
    if (def.kind === "CustomResourceDefinition" && def.group === "apiextensions.k8s.io") {
      const group = String(cur.spec?.group ?? "");
      const plural = String(cur.spec?.names?.plural ?? "");
      this.registry.unregisterCrd(group, plural);
      this.store.dropResource(`${group}/${plural}`);
    }
    this.collectDependents(String(cur.metadata.uid), propagation === "Orphan");
    return gone ?? cur;
  }

  private collectDependents(uid: string, orphan: boolean): void {
    for (const d of [...this.registry.defs]) {
      if (d.virtual) continue;
      for (const o of this.store.list(resourceKey(d))) {
        const refs = (o.metadata.ownerReferences ?? []) as Obj[];
        if (!refs.some((r) => r.uid === uid)) continue;
        if (orphan || refs.length > 1) {
          o.metadata.ownerReferences = refs.filter((r) => r.uid !== uid);
          if (!o.metadata.ownerReferences.length) delete o.metadata.ownerReferences;
          this.store.put(resourceKey(d), o);
          continue;
        }
        try {
          this.delete(d, o.metadata.namespace, o.metadata.name);
        } catch (e) {
          if (!(e instanceof ApiError && e.code === 404)) throw e;
        }
      }
    }
  }

  deleteCollection(def: ResourceDef, ns: string | undefined, list: ListOptions, opts: DeleteOptions = {}): Obj {
    const items = this.list(def, ns, list);
    for (const o of items) {
      try {
        this.delete(def, o.metadata.namespace, o.metadata.name, {
          dryRun: opts.dryRun,
          propagationPolicy: opts.propagationPolicy,
        });
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    return {
      kind: `${def.kind}List`,
      apiVersion: groupVersion(def),
      metadata: { resourceVersion: String(this.store.resourceVersion) },
      items,
    };
  }

  /** Namespace controller step: empties terminating namespaces and removes them once empty. */
  finalizeNamespaces(): void {
    const nsDef = this.def("Namespace");
    for (const n of this.store.list(resourceKey(nsDef))) {
      if (!n.metadata.deletionTimestamp) continue;
      const name = n.metadata.name as string;
      let remaining = 0;
      for (const d of [...this.registry.defs]) {
        if (!d.namespaced || d.virtual) continue;
        for (const o of this.store.list(resourceKey(d), name)) {
          remaining++;
          if (!o.metadata.deletionTimestamp) {
            try {
              this.delete(d, name, o.metadata.name);
            } catch (e) {
              if (!(e instanceof ApiError && e.code === 404)) throw e;
            }
          }
        }
      }
      const left = this.registry.defs.some(
        (d) => d.namespaced && !d.virtual && this.store.list(resourceKey(d), name).length > 0,
      );
      if (!left || remaining === 0) {
        for (const [k] of this.applied) if (k.startsWith(`${n.metadata.uid}/`)) this.applied.delete(k);
        this.store.remove(resourceKey(nsDef), undefined, name);
      }
    }
  }
}

function withoutVolatile(o: Obj): Obj {
  const c = clone(o);
  delete c.metadata.resourceVersion;
  for (const e of (c.metadata.managedFields ?? []) as Obj[]) delete e.time;
  return c;
}
