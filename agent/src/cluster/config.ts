// Configuration of the cluster side of the agent (ClusterPort): a zod schema over the environment variables the
// runner chart sets (charts/runner/templates/agent.yaml), parsed once in main.
import { hostname } from "node:os";
import { z } from "zod";

const bool = z
  .enum(["true", "false", "1", "0", ""])
  .default("false")
  .transform((v) => v === "true" || v === "1");

export const clusterConfigSchema = z.object({
  CAMEL_OPS_MODE: z.enum(["appliance", "native", "agent-only"]).default("appliance"),
  /** release namespace; in a pod the chart sets it from the downward API */
  CAMEL_OPS_NAMESPACE: z.string().min(1).default("default"),
  CAMEL_OPS_POD_NAME: z.string().min(1).default(hostname()),
  CAMEL_OPS_RELEASE_NAME: z.string().min(1).default("camel-ops"),
  CAMEL_OPS_LEASE_NAME: z.string().default(""),
  CAMEL_OPS_MANAGE_RELEASE: bool,
  CAMEL_OPS_CLUSTER_READ: bool,
  CAMEL_OPS_LICENSE_TOKEN: z.string().optional(),
  CAMEL_OPS_METRICS_URL: z.url().optional(),
  /** outside a cluster: the kubeconfig to use (and hand to helm) */
  KUBECONFIG: z.string().optional(),
  CAMEL_OPS_HELM_BIN: z.string().default("/usr/local/bin/helm"),
  /** writable directory: helm HOME, chart cache, values files (the root filesystem is read-only) */
  CAMEL_OPS_STATE_DIR: z.string().default("/tmp/camel-ops"),
  CAMEL_OPS_HELM_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(3600).default(300),
  CAMEL_OPS_HELM_HISTORY_MAX: z.coerce.number().int().min(1).max(100).default(10),
  /** Helm 4 only: explicit server-side apply (false keeps Helm 3 and 4 on client-side apply) */
  CAMEL_OPS_HELM_SERVER_SIDE: bool,
  /** how the agent reads Camel's management port: direct to the pod IP (in a pod), via the API server, or not */
  CAMEL_OPS_CAMEL_ACCESS: z.enum(["direct", "apiserver", "off"]).optional(),
  /** comma-separated `service:port[/path-prefix]` allowed for support HTTP (values: agent.support.http.allow) */
  CAMEL_OPS_SUPPORT_HTTP_ALLOW: z.string().default(""),
  /** how the release (which holds the agent's own pod) is upgraded: a one-shot Job, or inline; auto = Job in a pod */
  CAMEL_OPS_SELF_UPGRADE: z.enum(["auto", "job", "inline"]).default("auto"),
});

export type ClusterConfigEnv = z.infer<typeof clusterConfigSchema>;

export interface ClusterConfig {
  mode: "appliance" | "native" | "agent-only";
  namespace: string;
  identity: string;
  release: string;
  leaseName: string;
  manageRelease: boolean;
  clusterRead: boolean;
  licenseToken?: string;
  metricsUrl?: string;
  kubeconfigPath?: string;
  helmBin: string;
  stateDir: string;
  helmTimeoutSeconds: number;
  helmHistoryMax: number;
  helmServerSide: boolean;
  camelAccess?: "direct" | "apiserver" | "off";
  supportHttpAllow: string[];
  selfUpgrade: "auto" | "job" | "inline";
}

export function clusterConfigFrom(env: Record<string, string | undefined>): ClusterConfig {
  const e = clusterConfigSchema.parse(env);
  return {
    mode: e.CAMEL_OPS_MODE,
    namespace: e.CAMEL_OPS_NAMESPACE,
    identity: e.CAMEL_OPS_POD_NAME,
    release: e.CAMEL_OPS_RELEASE_NAME,
    leaseName: e.CAMEL_OPS_LEASE_NAME || `${e.CAMEL_OPS_RELEASE_NAME}-helm`,
    manageRelease: e.CAMEL_OPS_MANAGE_RELEASE && e.CAMEL_OPS_MODE !== "agent-only",
    clusterRead: e.CAMEL_OPS_CLUSTER_READ,
    licenseToken: e.CAMEL_OPS_LICENSE_TOKEN,
    metricsUrl: e.CAMEL_OPS_METRICS_URL,
    kubeconfigPath: e.KUBECONFIG,
    helmBin: e.CAMEL_OPS_HELM_BIN,
    stateDir: e.CAMEL_OPS_STATE_DIR,
    helmTimeoutSeconds: e.CAMEL_OPS_HELM_TIMEOUT_SECONDS,
    helmHistoryMax: e.CAMEL_OPS_HELM_HISTORY_MAX,
    helmServerSide: e.CAMEL_OPS_HELM_SERVER_SIDE,
    camelAccess: e.CAMEL_OPS_CAMEL_ACCESS,
    supportHttpAllow: e.CAMEL_OPS_SUPPORT_HTTP_ALLOW.split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    selfUpgrade: e.CAMEL_OPS_SELF_UPGRADE,
  };
}
