// The agent's Kubernetes connection: the narrow set of calls it makes (client-node's shapes and model types), over
// the small built-in client by default or over @kubernetes/client-node when asked (exec-plugin kubeconfigs).
import type {
  AppsV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  Log,
  VersionApi,
} from "@kubernetes/client-node";
import { connectKubeLite } from "./kube-lite.ts";

export type KubeCore = Pick<
  CoreV1Api,
  | "listNode"
  | "listNamespacedPod"
  | "readNamespacedPod"
  | "readNamespacedPodLog"
  | "listNamespacedEvent"
  | "listNamespacedSecret"
  | "readNamespacedSecret"
  | "replaceNamespacedSecret"
  | "createNamespacedSecret"
  | "readNamespacedConfigMap"
  | "createNamespacedConfigMap"
  | "listNamespacedPersistentVolumeClaim"
  | "connectGetNamespacedPodProxyWithPath"
>;
export type KubeApps = Pick<AppsV1Api, "listNamespacedDeployment" | "listNamespacedStatefulSet">;
export type KubeCoord = Pick<
  CoordinationV1Api,
  "readNamespacedLease" | "createNamespacedLease" | "replaceNamespacedLease"
>;
export type KubeAuthz = Pick<AuthorizationV1Api, "createSelfSubjectAccessReview">;
export type KubeBatch = Pick<BatchV1Api, "readNamespacedJob" | "createNamespacedJob">;
export type KubeVersion = Pick<VersionApi, "getCode">;
export type KubeLog = Pick<Log, "log">;

export interface Kube {
  core: KubeCore;
  apps: KubeApps;
  coord: KubeCoord;
  authz: KubeAuthz;
  batch: KubeBatch;
  version: KubeVersion;
  log: KubeLog;
  /** the kubeconfig file helm is given; undefined in a pod (helm uses the service account as we do) */
  kubeconfigPath?: string;
  inCluster: boolean;
}

/** The default connection: the small client (see kube-lite.ts for why). */
export function connectKube(opts: { kubeconfigPath?: string }): Kube {
  return connectKubeLite(opts);
}

/** The same connection over @kubernetes/client-node, loaded only when asked for. */
export async function connectKubeClientNode(opts: { kubeconfigPath?: string }): Promise<Kube> {
  const k = await import("@kubernetes/client-node");
  const kc = new k.KubeConfig();
  let inCluster = false;
  if (opts.kubeconfigPath) kc.loadFromFile(opts.kubeconfigPath);
  else if (process.env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
    inCluster = true;
  } else kc.loadFromDefault();
  return {
    core: kc.makeApiClient(k.CoreV1Api),
    apps: kc.makeApiClient(k.AppsV1Api),
    coord: kc.makeApiClient(k.CoordinationV1Api),
    authz: kc.makeApiClient(k.AuthorizationV1Api),
    batch: kc.makeApiClient(k.BatchV1Api),
    version: kc.makeApiClient(k.VersionApi),
    log: new k.Log(kc),
    kubeconfigPath: opts.kubeconfigPath,
    inCluster,
  };
}

export const httpStatusOf = (e: unknown): number | undefined => {
  const code = (e as { code?: unknown; statusCode?: unknown })?.code ?? (e as { statusCode?: unknown })?.statusCode;
  return typeof code === "number" ? code : undefined;
};

export class ForbiddenError extends Error {
  readonly what: string;
  constructor(what: string) {
    super(`the agent's service account may not ${what}`);
    this.name = "ForbiddenError";
    this.what = what;
  }
}

/** Runs a Kubernetes call; a 403 becomes a ForbiddenError naming what was refused, never a crash. */
export async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (httpStatusOf(e) === 403) throw new ForbiddenError(what);
    throw e;
  }
}
