// The health gate after an upgrade: every workload of the release rolled out and ready, and every Camel runtime
// answering ready on /observe/health/ready, within the deadline. What fails becomes the evidence of the report.
import type { V1Deployment, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import type { KubeApps, KubeCore } from "../cluster/kube.ts";

export interface FailingResource {
  kind: string;
  name: string;
  reason: string;
}

/** Reads a Camel runtime's management endpoint (port 9876) of a pod; undefined when it cannot be reached. */
export type CamelEndpoint = (
  pod: V1Pod,
  path: string,
  signal: AbortSignal,
) => Promise<{ status: number; body: string } | undefined>;

export interface HealthDeps {
  apps: KubeApps;
  core: KubeCore;
  namespace: string;
  release: string;
  /** when set, integration pods must also answer ready on /observe/health/ready */
  camel?: CamelEndpoint;
}

export interface HealthReport {
  healthy: boolean;
  failing: FailingResource[];
  workloads: number;
}

const selector = (release: string) => `app.kubernetes.io/instance=${release}`;

export function deploymentProblem(d: V1Deployment): string | undefined {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  if ((s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return "rollout not observed yet";
  const progressing = s.conditions?.find((c) => c.type === "Progressing");
  if (progressing?.status === "False" && progressing.reason === "ProgressDeadlineExceeded") {
    return `ProgressDeadlineExceeded: ${progressing.message ?? ""}`.trim();
  }
  if ((s.updatedReplicas ?? 0) < want) return `${s.updatedReplicas ?? 0}/${want} replicas updated`;
  if ((s.readyReplicas ?? 0) < want) return `${s.readyReplicas ?? 0}/${want} replicas ready`;
  if ((s.availableReplicas ?? 0) < want) return `${s.availableReplicas ?? 0}/${want} replicas available`;
  if ((s.replicas ?? 0) > want) return `${s.replicas} replicas while ${want} wanted (old pods still running)`;
  return undefined;
}

export function statefulSetProblem(s: V1StatefulSet): string | undefined {
  const want = s.spec?.replicas ?? 1;
  const st = s.status ?? { replicas: 0 };
  if ((st.observedGeneration ?? 0) < (s.metadata?.generation ?? 0)) return "rollout not observed yet";
  if ((st.readyReplicas ?? 0) < want) return `${st.readyReplicas ?? 0}/${want} replicas ready`;
  if (st.updateRevision && st.currentRevision !== st.updateRevision && (st.updatedReplicas ?? 0) < want) {
    return `${st.updatedReplicas ?? 0}/${want} replicas updated`;
  }
  return undefined;
}

/** Why a pod is not ready, from its container statuses (CrashLoopBackOff, ImagePullBackOff, probe failing, ...). */
export function podProblem(p: V1Pod): string | undefined {
  if (p.metadata?.deletionTimestamp) return undefined;
  const ready = p.status?.conditions?.find((c) => c.type === "Ready");
  if (ready?.status === "True") return undefined;
  for (const cs of p.status?.containerStatuses ?? []) {
    const waiting = cs.state?.waiting;
    if (waiting?.reason) return `${cs.name}: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ""}`;
    const term = cs.state?.terminated ?? cs.lastState?.terminated;
    if (term && !cs.ready) return `${cs.name}: terminated ${term.reason ?? ""} exit ${term.exitCode}`.trim();
    if (!cs.ready) return `${cs.name}: not ready${cs.restartCount ? ` (restarts ${cs.restartCount})` : ""}`;
  }
  return `pod ${p.status?.phase ?? "Unknown"}${ready?.message ? `: ${ready.message}` : ", not ready"}`;
}

export async function checkHealth(d: HealthDeps, signal: AbortSignal): Promise<HealthReport> {
  const labelSelector = selector(d.release);
  const [deps, sts, pods] = await Promise.all([
    d.apps.listNamespacedDeployment({ namespace: d.namespace, labelSelector }),
    d.apps.listNamespacedStatefulSet({ namespace: d.namespace, labelSelector }),
    d.core.listNamespacedPod({ namespace: d.namespace, labelSelector }),
  ]);
  const failing: FailingResource[] = [];
  for (const x of deps.items) {
    const why = deploymentProblem(x);
    if (why) failing.push({ kind: "Deployment", name: x.metadata?.name ?? "?", reason: why });
  }
  for (const x of sts.items) {
    const why = statefulSetProblem(x);
    if (why) failing.push({ kind: "StatefulSet", name: x.metadata?.name ?? "?", reason: why });
  }
  for (const p of pods.items) {
    const why = podProblem(p);
    if (why) failing.push({ kind: "Pod", name: p.metadata?.name ?? "?", reason: why });
  }
  if (failing.length === 0 && d.camel) {
    const integrations = pods.items.filter(
      (p) => p.metadata?.labels?.["app.kubernetes.io/component"] === "integration" && !p.metadata.deletionTimestamp,
    );
    const results = await Promise.all(
      integrations.map(async (p) => {
        const r = await d.camel!(p, "/observe/health/ready", signal).catch(() => undefined);
        if (!r) return { p, why: "Camel health endpoint unreachable" };
        if (r.status !== 200) return { p, why: `Camel not ready (HTTP ${r.status}): ${r.body.slice(0, 200)}` };
        return { p, why: undefined };
      }),
    );
    for (const { p, why } of results)
      if (why) failing.push({ kind: "Pod", name: p.metadata?.name ?? "?", reason: why });
  }
  return { healthy: failing.length === 0, failing, workloads: deps.items.length + sts.items.length };
}

/** Polls until healthy or the deadline; returns the last report (failing resources as evidence). */
export async function waitHealthy(
  d: HealthDeps,
  deadline: number,
  signal: AbortSignal,
  opts: { pollMs?: number; now?: () => number } = {},
): Promise<HealthReport> {
  const now = opts.now ?? Date.now;
  const pollMs = opts.pollMs ?? 1000;
  let last: HealthReport = { healthy: false, failing: [], workloads: 0 };
  for (;;) {
    signal.throwIfAborted();
    try {
      last = await checkHealth(d, signal);
    } catch (e) {
      last = {
        healthy: false,
        failing: [{ kind: "API", name: "kubernetes", reason: String(e).slice(0, 300) }],
        workloads: 0,
      };
    }
    if (last.healthy || now() >= deadline) return last;
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - now()))));
  }
}

/** Warning events of the namespace since a time: the "why" behind failing pods (probe failures, pulls, OOM). */
export async function recentWarnings(core: KubeCore, namespace: string, sinceMs: number, max = 20) {
  const list = await core
    .listNamespacedEvent({ namespace, fieldSelector: "type=Warning" })
    .catch(() => ({ items: [] }));
  return list.items
    .filter((e) => {
      const t = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
      return t ? new Date(t as unknown as string).getTime() >= sinceMs : true;
    })
    .slice(-max)
    .map((e) => ({
      kind: e.involvedObject?.kind ?? "?",
      name: e.involvedObject?.name ?? "?",
      reason: `${e.reason ?? "Warning"}: ${e.message ?? ""}`.slice(0, 500),
    }));
}
