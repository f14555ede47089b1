// The table of resource kinds the simulator serves; it drives routing, discovery and OpenAPI.

import type { Obj } from "./util.ts";

export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Subresources served: "status" separates status writes from spec writes. */
  subresources: string[];
  /** Custom resources (CRD-defined) do not accept strategic merge patches. */
  custom: boolean;
  /** Create-only review kinds (answered, never stored). */
  virtual?: boolean;
}

export const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

interface Entry {
  gv: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  short?: string[];
  cats?: string[];
  sub?: string[];
  verbs?: string[];
  custom?: boolean;
  virtual?: boolean;
}

const ALL = ["all"];

const BUILTIN: Entry[] = [
  { gv: "v1", kind: "Namespace", plural: "namespaces", namespaced: false, short: ["ns"], sub: ["status", "finalize"] },
  { gv: "v1", kind: "Node", plural: "nodes", namespaced: false, short: ["no"], sub: ["status"] },
  { gv: "v1", kind: "Pod", plural: "pods", namespaced: true, short: ["po"], cats: ALL, sub: ["status", "log"] },
  { gv: "v1", kind: "Service", plural: "services", namespaced: true, short: ["svc"], cats: ALL, sub: ["status"] },
  { gv: "v1", kind: "Endpoints", plural: "endpoints", namespaced: true, short: ["ep"] },
  { gv: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true, short: ["cm"] },
  { gv: "v1", kind: "Secret", plural: "secrets", namespaced: true },
  { gv: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true, short: ["sa"] },
  {
    gv: "v1",
    kind: "PersistentVolumeClaim",
    plural: "persistentvolumeclaims",
    namespaced: true,
    short: ["pvc"],
    sub: ["status"],
  },
  {
    gv: "v1",
    kind: "PersistentVolume",
    plural: "persistentvolumes",
    namespaced: false,
    short: ["pv"],
    sub: ["status"],
  },
  { gv: "v1", kind: "Event", plural: "events", namespaced: true, short: ["ev"] },
  { gv: "v1", kind: "LimitRange", plural: "limitranges", namespaced: true, short: ["limits"] },
  { gv: "v1", kind: "ResourceQuota", plural: "resourcequotas", namespaced: true, short: ["quota"], sub: ["status"] },
  {
    gv: "apps/v1",
    kind: "Deployment",
    plural: "deployments",
    namespaced: true,
    short: ["deploy"],
    cats: ALL,
    sub: ["status", "scale"],
  },
  {
    gv: "apps/v1",
    kind: "ReplicaSet",
    plural: "replicasets",
    namespaced: true,
    short: ["rs"],
    cats: ALL,
    sub: ["status", "scale"],
  },
  {
    gv: "apps/v1",
    kind: "StatefulSet",
    plural: "statefulsets",
    namespaced: true,
    short: ["sts"],
    cats: ALL,
    sub: ["status", "scale"],
  },
  {
    gv: "apps/v1",
    kind: "DaemonSet",
    plural: "daemonsets",
    namespaced: true,
    short: ["ds"],
    cats: ALL,
    sub: ["status"],
  },
  { gv: "apps/v1", kind: "ControllerRevision", plural: "controllerrevisions", namespaced: true },
  { gv: "batch/v1", kind: "Job", plural: "jobs", namespaced: true, cats: ALL, sub: ["status"] },
  { gv: "batch/v1", kind: "CronJob", plural: "cronjobs", namespaced: true, short: ["cj"], cats: ALL, sub: ["status"] },
  {
    gv: "networking.k8s.io/v1",
    kind: "Ingress",
    plural: "ingresses",
    namespaced: true,
    short: ["ing"],
    sub: ["status"],
  },
  { gv: "networking.k8s.io/v1", kind: "IngressClass", plural: "ingressclasses", namespaced: false },
  { gv: "networking.k8s.io/v1", kind: "NetworkPolicy", plural: "networkpolicies", namespaced: true, short: ["netpol"] },
  {
    gv: "policy/v1",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
    namespaced: true,
    short: ["pdb"],
    sub: ["status"],
  },
  {
    gv: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    plural: "horizontalpodautoscalers",
    namespaced: true,
    short: ["hpa"],
    cats: ALL,
    sub: ["status"],
  },
  { gv: "rbac.authorization.k8s.io/v1", kind: "Role", plural: "roles", namespaced: true },
  { gv: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", plural: "rolebindings", namespaced: true },
  { gv: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", plural: "clusterroles", namespaced: false },
  { gv: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", plural: "clusterrolebindings", namespaced: false },
  { gv: "coordination.k8s.io/v1", kind: "Lease", plural: "leases", namespaced: true },
  { gv: "storage.k8s.io/v1", kind: "StorageClass", plural: "storageclasses", namespaced: false, short: ["sc"] },
  { gv: "scheduling.k8s.io/v1", kind: "PriorityClass", plural: "priorityclasses", namespaced: false, short: ["pc"] },
  {
    gv: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    plural: "customresourcedefinitions",
    namespaced: false,
    short: ["crd", "crds"],
    sub: ["status"],
  },
  {
    gv: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    plural: "selfsubjectaccessreviews",
    namespaced: false,
    verbs: ["create"],
    virtual: true,
  },
  {
    gv: "authorization.k8s.io/v1",
    kind: "SelfSubjectRulesReview",
    plural: "selfsubjectrulesreviews",
    namespaced: false,
    verbs: ["create"],
    virtual: true,
  },
  {
    gv: "authentication.k8s.io/v1",
    kind: "SelfSubjectReview",
    plural: "selfsubjectreviews",
    namespaced: false,
    verbs: ["create"],
    virtual: true,
  },
];

/** The Prometheus operator's ServiceMonitor, served as if its CRD were installed (option `serviceMonitorCrd`). */
export const SERVICE_MONITOR_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "servicemonitors.monitoring.coreos.com" },
  spec: {
    group: "monitoring.coreos.com",
    scope: "Namespaced",
    names: {
      kind: "ServiceMonitor",
      listKind: "ServiceMonitorList",
      plural: "servicemonitors",
      singular: "servicemonitor",
      shortNames: ["smon"],
      categories: ["prometheus-operator"],
    },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      },
    ],
  },
};

function toDef(e: Entry): ResourceDef {
  const [group, version] = e.gv.includes("/") ? (e.gv.split("/") as [string, string]) : ["", e.gv];
  return {
    group,
    version,
    kind: e.kind,
    plural: e.plural,
    singular: e.kind.toLowerCase(),
    namespaced: e.namespaced,
    shortNames: e.short ?? [],
    categories: e.cats ?? [],
    verbs: e.verbs ?? ALL_VERBS,
    subresources: e.sub ?? [],
    custom: e.custom ?? false,
    virtual: e.virtual,
  };
}

export function groupVersion(def: { group: string; version: string }): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

/** Storage key of a resource: the same objects whatever version they are read through. */
export function resourceKey(def: { group: string; plural: string }): string {
  return `${def.group}/${def.plural}`;
}

/** The live set of served resources: built-ins plus those added by CustomResourceDefinitions. */
export class Registry {
  readonly defs: ResourceDef[] = BUILTIN.map(toDef);

  find(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.defs.find((d) => d.group === group && d.version === version && d.plural === plural);
  }

  byKind(kind: string, apiVersion?: string): ResourceDef | undefined {
    const lower = kind.toLowerCase();
    return this.defs.find(
      (d) =>
        (d.kind.toLowerCase() === lower || d.plural === lower || d.shortNames.includes(lower)) &&
        (apiVersion === undefined || groupVersion(d) === apiVersion),
    );
  }

  /** Group → ordered versions, for discovery. */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const d of this.defs) {
      const vs = out.get(d.group) ?? [];
      if (!vs.includes(d.version)) vs.push(d.version);
      out.set(d.group, vs);
    }
    return out;
  }

  /** Adds or replaces the resources a CRD defines; returns the defs added. */
  registerCrd(crd: Record<string, unknown>): ResourceDef[] {
    const spec = (crd.spec ?? {}) as Obj;
    const names = (spec.names ?? {}) as Obj;
    const group = String(spec.group ?? "");
    const plural = String(names.plural ?? "");
    this.unregisterCrd(group, plural);
    const added: ResourceDef[] = [];
    for (const v of (spec.versions ?? []) as Obj[]) {
      if (v.served === false) continue;
      const def: ResourceDef = {
        group,
        version: String(v.name),
        kind: String(names.kind ?? ""),
        plural,
        singular: String(names.singular ?? String(names.kind ?? "").toLowerCase()),
        namespaced: spec.scope !== "Cluster",
        shortNames: (names.shortNames ?? []) as string[],
        categories: (names.categories ?? []) as string[],
        verbs: ALL_VERBS,
        subresources: v.subresources?.status ? ["status"] : [],
        custom: true,
      };
      this.defs.push(def);
      added.push(def);
    }
    return added;
  }

  unregisterCrd(group: string, plural: string): void {
    for (let i = this.defs.length - 1; i >= 0; i--) {
      const d = this.defs[i]!;
      if (d.custom && d.group === group && d.plural === plural) this.defs.splice(i, 1);
    }
  }
}
