// The agent's Kubernetes connection: in a pod through its service account, outside one through a kubeconfig.
import {
  AppsV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  Log,
  VersionApi,
} from "@kubernetes/client-node";

export interface Kube {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  coord: CoordinationV1Api;
  authz: AuthorizationV1Api;
  batch: BatchV1Api;
  version: VersionApi;
  log: Log;
  /** the kubeconfig file helm is given; undefined in a pod (helm uses the service account as we do) */
  kubeconfigPath?: string;
  inCluster: boolean;
}

export function connectKube(opts: { kubeconfigPath?: string }): Kube {
  const kc = new KubeConfig();
  let inCluster = false;
  if (opts.kubeconfigPath) kc.loadFromFile(opts.kubeconfigPath);
  else if (process.env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
    inCluster = true;
  } else kc.loadFromDefault();
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    coord: kc.makeApiClient(CoordinationV1Api),
    authz: kc.makeApiClient(AuthorizationV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    version: kc.makeApiClient(VersionApi),
    log: new Log(kc),
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
