// One telemetry snapshot of the cluster: Kubernetes version and distribution, nodes, our release, its workloads,
// Camel figures per integration, license and certificate expiry, volumes. Each part is skipped (and said so)
// when the service account may not read it, so an agent-only install still reports what it can.
import { X509Certificate } from "node:crypto";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { CamelEndpoint } from "../helm/health-gate.ts";
import { decodeRelease } from "../helm/pending-recovery.ts";
import type { AccessChecker } from "./access.ts";
import {
  addFigures,
  type CamelFigures,
  camelFigures,
  figuresFromVictoriaMetrics,
  parsePrometheusText,
} from "./camel-metrics.ts";
import type { Kube } from "./kube.ts";

export interface TelemetryDeps {
  kube: Kube;
  access: AccessChecker;
  namespace: string;
  release: string;
  camel?: CamelEndpoint;
  /** VictoriaMetrics base URL when the chart installs it (CAMEL_OPS_METRICS_URL) */
  metricsUrl?: string;
  licenseToken?: string;
  fetch: typeof fetch;
}

export function distributionOf(gitVersion: string, nodes: V1Node[]): "k3s" | "kubernetes" | "unknown" {
  if (/\+k3s/i.test(gitVersion) || nodes.some((n) => /k3s/i.test(n.status?.nodeInfo?.kubeletVersion ?? "")))
    return "k3s";
  return gitVersion ? "kubernetes" : "unknown";
}

export function nodeSummary(n: V1Node) {
  const cond = (t: string) => n.status?.conditions?.find((c) => c.type === t)?.status === "True";
  return {
    name: n.metadata?.name ?? "?",
    ready: cond("Ready"),
    pressure: { memory: cond("MemoryPressure"), disk: cond("DiskPressure"), pid: cond("PIDPressure") },
    capacity: {
      cpu: n.status?.capacity?.cpu,
      memory: n.status?.capacity?.memory,
      pods: n.status?.capacity?.pods,
      ephemeralStorage: n.status?.capacity?.["ephemeral-storage"],
    },
    kubelet: n.status?.nodeInfo?.kubeletVersion,
    unschedulable: n.spec?.unschedulable === true,
  };
}

/** Expiry of a JWT without verifying it (the cloud verifies; this is only for reporting). */
export function jwtExpiry(token: string | undefined): string | undefined {
  const part = token?.split(".")[1];
  if (!part) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as { exp?: number };
    return typeof claims.exp === "number" ? new Date(claims.exp * 1000).toISOString() : undefined;
  } catch {
    return undefined;
  }
}

const skipped = (why: string) => ({ skipped: why });

export async function collectTelemetry(d: TelemetryDeps, signal: AbortSignal): Promise<Record<string, unknown>> {
  const ns = d.namespace;
  const can = d.access;
  const [canNodes, canPods, canDeploy, canSecrets, canPvc] = await Promise.all([
    can.can({ verb: "list", resource: "nodes" }),
    can.can({ verb: "list", resource: "pods", namespace: ns }),
    can.can({ verb: "list", resource: "deployments", group: "apps", namespace: ns }),
    can.can({ verb: "list", resource: "secrets", namespace: ns }),
    can.can({ verb: "list", resource: "persistentvolumeclaims", namespace: ns }),
  ]);

  const version = await d.kube.version.getCode().catch(() => undefined);
  const nodes = canNodes ? (await d.kube.core.listNode().catch(() => ({ items: [] as V1Node[] }))).items : [];
  const cluster = {
    kubernetesVersion: version?.gitVersion ?? "unknown",
    distribution: distributionOf(version?.gitVersion ?? "", nodes),
    nodes: canNodes ? nodes.map(nodeSummary) : skipped("no permission to list nodes"),
  };

  const selector = `app.kubernetes.io/instance=${d.release}`;
  let workloads: unknown = skipped("no permission to list workloads");
  let pods: V1Pod[] = [];
  if (canPods)
    pods = (
      await d.kube.core.listNamespacedPod({ namespace: ns, labelSelector: selector }).catch(() => ({ items: [] }))
    ).items;
  if (canDeploy) {
    const [deps, sts] = await Promise.all([
      d.kube.apps.listNamespacedDeployment({ namespace: ns, labelSelector: selector }).catch(() => ({ items: [] })),
      d.kube.apps.listNamespacedStatefulSet({ namespace: ns, labelSelector: selector }).catch(() => ({ items: [] })),
    ]);
    const restartsOf = (match: Record<string, string> | undefined) =>
      pods
        .filter((p) => match && Object.entries(match).every(([k, v]) => p.metadata?.labels?.[k] === v))
        .reduce((a, p) => a + (p.status?.containerStatuses ?? []).reduce((b, c) => b + (c.restartCount ?? 0), 0), 0);
    workloads = [
      ...deps.items.map((x) => ({
        kind: "Deployment",
        name: x.metadata?.name,
        integration: x.metadata?.labels?.["camel-ops.io/integration"],
        desired: x.spec?.replicas ?? 1,
        ready: x.status?.readyReplicas ?? 0,
        restarts: restartsOf(x.spec?.selector?.matchLabels),
      })),
      ...sts.items.map((x) => ({
        kind: "StatefulSet",
        name: x.metadata?.name,
        desired: x.spec?.replicas ?? 1,
        ready: x.status?.readyReplicas ?? 0,
        restarts: restartsOf(x.spec?.selector?.matchLabels),
      })),
    ].sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
  }

  let release: unknown = skipped("no permission to read Helm's release secrets");
  let certificates: unknown = skipped("no permission to list secrets");
  if (canSecrets) {
    const rel = await d.kube.core
      .listNamespacedSecret({ namespace: ns, labelSelector: `owner=helm,name=${d.release}` })
      .catch(() => ({ items: [] }));
    const latest = rel.items.sort(
      (a, b) => Number(b.metadata?.labels?.version ?? 0) - Number(a.metadata?.labels?.version ?? 0),
    )[0];
    if (!latest) release = null;
    else {
      let chartVersion: string | undefined;
      try {
        const r = decodeRelease(latest.data?.release ?? "");
        chartVersion = (r.chart as { metadata?: { version?: string } } | undefined)?.metadata?.version;
      } catch {
        chartVersion = undefined;
      }
      release = {
        name: d.release,
        revision: Number(latest.metadata?.labels?.version ?? 0),
        status: latest.metadata?.labels?.status,
        chartVersion,
      };
    }
    const tls = await d.kube.core
      .listNamespacedSecret({ namespace: ns, fieldSelector: "type=kubernetes.io/tls" })
      .catch(() => ({ items: [] }));
    certificates = tls.items.flatMap((s): Array<Record<string, string | undefined>> => {
      const pem = s.data?.["tls.crt"];
      if (!pem) return [];
      try {
        const c = new X509Certificate(Buffer.from(pem, "base64"));
        return [{ secret: s.metadata?.name, subject: c.subject, notAfter: new Date(c.validTo).toISOString() }];
      } catch {
        return [{ secret: s.metadata?.name, error: "not a PEM certificate" }];
      }
    });
  }

  const integrations = await camelTelemetry(d, pods, signal);

  let volumes: unknown = skipped("no permission to list volume claims");
  if (canPvc) {
    const pvcs = await d.kube.core
      .listNamespacedPersistentVolumeClaim({ namespace: ns, labelSelector: selector })
      .catch(() => ({ items: [] }));
    const usage = d.metricsUrl ? await volumeUsage(d.metricsUrl, d.fetch, signal).catch(() => ({})) : {};
    volumes = pvcs.items.map((p) => ({
      name: p.metadata?.name,
      phase: p.status?.phase,
      capacity: p.status?.capacity?.storage ?? p.spec?.resources?.requests?.storage,
      usedBytes: (usage as Record<string, number>)[p.metadata?.name ?? ""],
    }));
  }

  return {
    cluster,
    release,
    workloads,
    integrations,
    license: { expiresAt: jwtExpiry(d.licenseToken) },
    certificates,
    volumes,
  };
}

/** Per integration: from VictoriaMetrics when installed, otherwise from each runtime's /observe/metrics. */
async function camelTelemetry(d: TelemetryDeps, pods: V1Pod[], signal: AbortSignal) {
  if (d.metricsUrl) {
    const vm = await figuresFromVictoriaMetrics(d.metricsUrl, d.fetch, signal).catch(() => undefined);
    if (vm) return Object.fromEntries(Object.entries(vm).map(([k, v]) => [k, { ...v, source: "victoriametrics" }]));
  }
  if (!d.camel) return skipped("no access to the runtimes' metrics");
  const byIntegration: Record<string, CamelFigures & { pods: number; source: string }> = {};
  const running = pods.filter(
    (p) =>
      p.metadata?.labels?.["camel-ops.io/integration"] &&
      p.status?.phase === "Running" &&
      !p.metadata.deletionTimestamp,
  );
  await Promise.all(
    running.map(async (p) => {
      const name = p.metadata!.labels!["camel-ops.io/integration"]!;
      const r = await d.camel!(p, "/observe/metrics", signal).catch(() => undefined);
      if (r?.status !== 200) return;
      const f = camelFigures(parsePrometheusText(r.body));
      const prev = byIntegration[name];
      byIntegration[name] = prev
        ? { ...addFigures(prev, f), pods: prev.pods + 1, source: "runtime" }
        : { ...f, pods: 1, source: "runtime" };
    }),
  );
  return byIntegration;
}

async function volumeUsage(baseUrl: string, fetchFn: typeof fetch, signal: AbortSignal) {
  const q = encodeURIComponent("max by (persistentvolumeclaim) (kubelet_volume_stats_used_bytes)");
  const res = await fetchFn(`${baseUrl.replace(/\/+$/, "")}/api/v1/query?query=${q}`, { signal });
  if (!res.ok) return {};
  const body = (await res.json()) as {
    data?: { result?: Array<{ metric?: Record<string, string>; value?: [number, string] }> };
  };
  return Object.fromEntries(
    (body.data?.result ?? []).map((r) => [r.metric?.persistentvolumeclaim ?? "?", Number(r.value?.[1] ?? 0)]),
  );
}
