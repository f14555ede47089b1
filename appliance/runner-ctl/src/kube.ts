// The Kubernetes API, through @kubernetes/client-node only.
import type { Writable } from "node:stream";
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  Log,
  type V1Deployment,
  type V1Node,
  type V1Pod,
  type V1StatefulSet,
} from "@kubernetes/client-node";
import type { Ctx } from "./context.ts";
import { CliError } from "./context.ts";

export const INTEGRATION_LABEL = "camel-ops.io/integration";

export class Kube {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly namespace: string;

  constructor(ctx: Ctx) {
    this.kc = new KubeConfig();
    try {
      this.kc.loadFromFile(ctx.paths.kubeconfig);
    } catch (e) {
      throw new CliError(
        `cannot read the cluster's access file ${ctx.paths.kubeconfig} (${(e as Error).message}); is this the hub, and are you root?`,
      );
    }
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.apps = this.kc.makeApiClient(AppsV1Api);
    this.namespace = ctx.settings.namespace;
  }

  async nodes(): Promise<V1Node[]> {
    return (await this.core.listNode()).items;
  }

  async deployments(labelSelector?: string): Promise<V1Deployment[]> {
    return (await this.apps.listNamespacedDeployment({ namespace: this.namespace, labelSelector })).items;
  }

  async statefulSets(): Promise<V1StatefulSet[]> {
    return (await this.apps.listNamespacedStatefulSet({ namespace: this.namespace })).items;
  }

  async pods(labelSelector?: string): Promise<V1Pod[]> {
    return (await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector })).items;
  }

  async integrationPods(name: string): Promise<V1Pod[]> {
    const pods = await this.pods(`${INTEGRATION_LABEL}=${name}`);
    return pods.sort((a, b) =>
      String(b.metadata?.creationTimestamp ?? "").localeCompare(String(a.metadata?.creationTimestamp ?? "")),
    );
  }

  async podLog(pod: string, container: string | undefined, tailLines?: number): Promise<string> {
    return await this.core.readNamespacedPodLog({ name: pod, namespace: this.namespace, container, tailLines });
  }

  /** Streams a pod's log into `out` until the pod ends or the returned controller is aborted. */
  async followLog(pod: string, container: string, out: Writable, tailLines?: number): Promise<AbortController> {
    return await new Log(this.kc).log(this.namespace, pod, container, out, { follow: true, tailLines });
  }

  async scale(kind: "Deployment" | "StatefulSet", name: string, replicas: number): Promise<void> {
    if (kind === "Deployment") {
      const d = await this.apps.readNamespacedDeployment({ name, namespace: this.namespace });
      if (d.spec) d.spec.replicas = replicas;
      await this.apps.replaceNamespacedDeployment({ name, namespace: this.namespace, body: d });
    } else {
      const s = await this.apps.readNamespacedStatefulSet({ name, namespace: this.namespace });
      if (s.spec) s.spec.replicas = replicas;
      await this.apps.replaceNamespacedStatefulSet({ name, namespace: this.namespace, body: s });
    }
  }
}

/** Ready means: the Ready condition is True. */
export function nodeReady(n: V1Node): boolean {
  return (n.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

export function nodePressure(n: V1Node): string[] {
  return (n.status?.conditions ?? [])
    .filter((c) => c.type !== "Ready" && c.status === "True")
    .map((c) => c.type ?? "")
    .filter(Boolean);
}

export function workloadReady(d: V1Deployment | V1StatefulSet): { ready: number; desired: number } {
  const desired = d.spec?.replicas ?? 1;
  const ready = d.status?.readyReplicas ?? 0;
  return { ready, desired };
}
