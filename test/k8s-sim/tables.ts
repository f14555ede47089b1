// Server-side printing: meta.k8s.io/v1 Table responses, the way `kubectl get` asks for them.

import type { Obj } from "./util.ts";

interface Column {
  name: string;
  type?: string;
  format?: string;
  priority?: number;
  cell: (o: Obj) => unknown;
}

function age(o: Obj): string {
  const t = Date.parse(o.metadata?.creationTimestamp ?? "");
  if (Number.isNaN(t)) return "<unknown>";
  const s = Math.max(0, Math.floor((Date.now() - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function podStatus(o: Obj): string {
  if (o.metadata?.deletionTimestamp) return "Terminating";
  for (const c of (o.status?.containerStatuses ?? []) as Obj[]) {
    if (c.state?.waiting?.reason) return c.state.waiting.reason;
    if (c.state?.terminated?.reason && o.status?.phase !== "Succeeded" && o.status?.phase !== "Failed") {
      return c.state.terminated.reason;
    }
  }
  if (o.status?.phase === "Succeeded") return "Completed";
  if (o.status?.phase === "Failed") return "Error";
  return o.status?.reason ?? o.status?.phase ?? "Pending";
}

const NAME: Column = { name: "Name", format: "name", cell: (o) => o.metadata?.name };
const AGE: Column = { name: "Age", cell: age };
const n = (v: unknown) => (typeof v === "number" ? v : 0);

const COLUMNS: Record<string, Column[]> = {
  Pod: [
    NAME,
    {
      name: "Ready",
      cell: (o) => {
        const cs = (o.status?.containerStatuses ?? []) as Obj[];
        return `${cs.filter((c) => c.ready).length}/${(o.spec?.containers ?? []).length}`;
      },
    },
    { name: "Status", cell: podStatus },
    {
      name: "Restarts",
      type: "integer",
      cell: (o) => ((o.status?.containerStatuses ?? []) as Obj[]).reduce((a, c) => a + n(c.restartCount), 0),
    },
    AGE,
    { name: "IP", priority: 1, cell: (o) => o.status?.podIP ?? "<none>" },
    { name: "Node", priority: 1, cell: (o) => o.spec?.nodeName ?? "<none>" },
  ],
  Deployment: [
    NAME,
    { name: "Ready", cell: (o) => `${n(o.status?.readyReplicas)}/${n(o.spec?.replicas)}` },
    { name: "Up-to-date", type: "integer", cell: (o) => n(o.status?.updatedReplicas) },
    { name: "Available", type: "integer", cell: (o) => n(o.status?.availableReplicas) },
    AGE,
  ],
  ReplicaSet: [
    NAME,
    { name: "Desired", type: "integer", cell: (o) => n(o.spec?.replicas) },
    { name: "Current", type: "integer", cell: (o) => n(o.status?.replicas) },
    { name: "Ready", type: "integer", cell: (o) => n(o.status?.readyReplicas) },
    AGE,
  ],
  StatefulSet: [NAME, { name: "Ready", cell: (o) => `${n(o.status?.readyReplicas)}/${n(o.spec?.replicas)}` }, AGE],
  DaemonSet: [
    NAME,
    { name: "Desired", type: "integer", cell: (o) => n(o.status?.desiredNumberScheduled) },
    { name: "Current", type: "integer", cell: (o) => n(o.status?.currentNumberScheduled) },
    { name: "Ready", type: "integer", cell: (o) => n(o.status?.numberReady) },
    { name: "Up-to-date", type: "integer", cell: (o) => n(o.status?.updatedNumberScheduled) },
    { name: "Available", type: "integer", cell: (o) => n(o.status?.numberAvailable) },
    AGE,
  ],
  Job: [
    NAME,
    {
      name: "Status",
      cell: (o) => {
        const c = ((o.status?.conditions ?? []) as Obj[]).find((x) => x.status === "True");
        return c?.type ?? "Running";
      },
    },
    { name: "Completions", cell: (o) => `${n(o.status?.succeeded)}/${n(o.spec?.completions)}` },
    AGE,
  ],
  Service: [
    NAME,
    { name: "Type", cell: (o) => o.spec?.type },
    { name: "Cluster-IP", cell: (o) => o.spec?.clusterIP ?? "<none>" },
    {
      name: "External-IP",
      cell: (o) =>
        ((o.status?.loadBalancer?.ingress ?? []) as Obj[]).map((i) => i.ip ?? i.hostname).join(",") || "<none>",
    },
    {
      name: "Port(s)",
      cell: (o) =>
        ((o.spec?.ports ?? []) as Obj[])
          .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`)
          .join(",") || "<none>",
    },
    AGE,
  ],
  Node: [
    NAME,
    {
      name: "Status",
      cell: (o) => {
        const r = ((o.status?.conditions ?? []) as Obj[]).find((c) => c.type === "Ready");
        return r?.status === "True" ? "Ready" : "NotReady";
      },
    },
    { name: "Roles", cell: () => "control-plane,master" },
    AGE,
    { name: "Version", cell: (o) => o.status?.nodeInfo?.kubeletVersion ?? "" },
  ],
  Endpoints: [
    NAME,
    {
      name: "Endpoints",
      cell: (o) => {
        const eps: string[] = [];
        for (const sub of (o.subsets ?? []) as Obj[]) {
          for (const a of (sub.addresses ?? []) as Obj[]) {
            for (const p of (sub.ports ?? []) as Obj[]) eps.push(`${a.ip}:${p.port}`);
          }
        }
        return eps.join(",") || "<none>";
      },
    },
    AGE,
  ],
  Namespace: [NAME, { name: "Status", cell: (o) => o.status?.phase ?? "Active" }, AGE],
  ConfigMap: [NAME, { name: "Data", type: "integer", cell: (o) => Object.keys(o.data ?? {}).length }, AGE],
  Secret: [
    NAME,
    { name: "Type", cell: (o) => o.type ?? "Opaque" },
    { name: "Data", type: "integer", cell: (o) => Object.keys(o.data ?? {}).length },
    AGE,
  ],
  PersistentVolumeClaim: [
    NAME,
    { name: "Status", cell: (o) => o.status?.phase ?? "Pending" },
    { name: "Volume", cell: (o) => o.spec?.volumeName ?? "" },
    { name: "Capacity", cell: (o) => o.status?.capacity?.storage ?? "" },
    AGE,
  ],
  Event: [
    { name: "Last Seen", cell: (o) => age({ metadata: { creationTimestamp: o.lastTimestamp ?? o.eventTime } }) },
    { name: "Type", cell: (o) => o.type },
    { name: "Reason", cell: (o) => o.reason },
    {
      name: "Object",
      cell: (o) => `${String(o.involvedObject?.kind ?? "").toLowerCase()}/${o.involvedObject?.name ?? ""}`,
    },
    { name: "Message", cell: (o) => o.message },
    NAME,
  ],
};

function partial(o: Obj): Obj {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
}

export function toTable(kind: string, items: Obj[], listMeta: Obj, includeObject: string | null): Obj {
  const cols = COLUMNS[kind] ?? [NAME, AGE];
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    columnDefinitions: cols.map((c) => ({
      name: c.name,
      type: c.type ?? "string",
      format: c.format ?? "",
      description: c.name,
      priority: c.priority ?? 0,
    })),
    rows: items.map((o) => ({
      cells: cols.map((c) => c.cell(o) ?? ""),
      object: includeObject === "None" ? undefined : includeObject === "Object" ? o : partial(o),
    })),
  };
}

export function toPartial(item: Obj): Obj {
  return partial(item);
}
