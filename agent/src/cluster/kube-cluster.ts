// The real ClusterPort: Kubernetes through the agent's small client (or client-node), the release through the pinned helm.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type {
  ApplyProgress,
  ApplyResult,
  ClusterFacts,
  ClusterPort,
  CommandContext,
  DesiredState,
} from "../cluster-port.ts";
import type { ChartFetch } from "../helm/chart-source.ts";
import { type ExecutorOptions, HelmExecutor } from "../helm/executor.ts";
import type { CamelEndpoint } from "../helm/health-gate.ts";
import { detectHelm, type HelmEnv } from "../helm/helm-cli.ts";
import { applyThroughJob } from "../helm/upgrade-job.ts";
import { createSupport } from "../support/handlers.ts";
import { AccessChecker } from "./access.ts";
import type { ClusterConfig } from "./config.ts";
import { connectKube, type Kube } from "./kube.ts";
import { collectTelemetry, distributionOf } from "./telemetry.ts";

export interface KubeClusterOptions {
  config: ClusterConfig;
  logger: Logger;
  /** downloads the chart archive; the agent core passes one that adds its JWT for the cloud's chart URL */
  chartFetch?: ChartFetch;
  /** uploads the support bundle to the cloud; the agent core passes one that adds its JWT */
  cloudFetch?: typeof fetch;
  fetch?: typeof fetch;
  /** how to read a Camel runtime's management port; default by config.camelAccess */
  camel?: CamelEndpoint;
  /** how support HTTP reaches an in-cluster service (tests point it at loopback) */
  serviceUrl?: (service: string, port: number) => string;
  healthPollMs?: number;
  kube?: Kube;
  /** seams for tests and the memory bench: Lease duration, observers of helm children */
  executor?: Partial<Pick<ExecutorOptions, "leaseDurationSeconds" | "onHelmSpawn" | "onHelmExit">>;
}

export type KubeCluster = ClusterPort & {
  readonly kube: Kube;
  helm(): Promise<HelmEnv>;
  executor(): Promise<HelmExecutor>;
};

export function directCamel(fetchFn: typeof fetch, timeoutMs = 3000): CamelEndpoint {
  return async (pod, path, signal) => {
    const ip = pod.status?.podIP;
    if (!ip) return undefined;
    const res = await fetchFn(`http://${ip}:9876${path}`, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
    return { status: res.status, body: (await res.text()).slice(0, 1_000_000) };
  };
}

export function apiServerCamel(kube: Kube): CamelEndpoint {
  return async (pod: V1Pod, path) => {
    const name = pod.metadata?.name;
    const namespace = pod.metadata?.namespace;
    if (!name || !namespace) return undefined;
    try {
      const body = await kube.core.connectGetNamespacedPodProxyWithPath({
        name: `${name}:9876`,
        namespace,
        path: path.replace(/^\//, ""),
      });
      return { status: 200, body: String(body) };
    } catch (e) {
      const code = (e as { code?: number }).code;
      return code ? { status: code, body: "" } : undefined;
    }
  };
}

export function createKubeCluster(o: KubeClusterOptions): KubeCluster {
  const cfg = o.config;
  const log = o.logger.child({ component: "cluster" });
  const kube = o.kube ?? connectKube({ kubeconfigPath: cfg.kubeconfigPath });
  const fetchFn = o.fetch ?? fetch;
  const access = new AccessChecker(kube.authz);
  const camelAccess = cfg.camelAccess ?? (kube.inCluster ? "direct" : "apiserver");
  const camel =
    o.camel ??
    (camelAccess === "direct" ? directCamel(fetchFn) : camelAccess === "apiserver" ? apiServerCamel(kube) : undefined);

  let helmEnv: Promise<HelmEnv> | undefined;
  const helm = () => {
    helmEnv ??= detectHelm(cfg.helmBin, join(cfg.stateDir, "helm"), kube.kubeconfigPath).catch((e: unknown) => {
      helmEnv = undefined;
      throw e;
    });
    return helmEnv;
  };
  let exec: Promise<HelmExecutor> | undefined;
  const executor = () => {
    exec ??= helm().then(
      (h) =>
        new HelmExecutor({
          helm: h,
          core: kube.core,
          apps: kube.apps,
          coord: kube.coord,
          namespace: cfg.namespace,
          release: cfg.release,
          leaseName: cfg.leaseName,
          identity: cfg.identity,
          workDir: cfg.stateDir,
          fetch: o.chartFetch ?? ((url, init) => fetchFn(url, init)),
          logger: log,
          timeoutSeconds: cfg.helmTimeoutSeconds,
          historyMax: cfg.helmHistoryMax,
          serverSide: cfg.helmServerSide,
          camel,
          healthPollMs: o.healthPollMs,
          ...o.executor,
        }),
    );
    return exec;
  };

  // Helm is optional for support: an agent-only install has none of the release's secrets.
  let support: ReturnType<typeof createSupport> | undefined;
  const supportFor = async () => {
    if (support) return support;
    const h = cfg.manageRelease ? await helm().catch(() => undefined) : undefined;
    support = createSupport({
      kube,
      namespace: cfg.namespace,
      release: cfg.release,
      helm: h,
      httpAllow: cfg.supportHttpAllow,
      serviceUrl: o.serviceUrl,
      fetch: fetchFn,
      cloudFetch: o.cloudFetch,
    });
    return support;
  };

  return {
    kube,
    helm,
    executor,

    async facts(): Promise<ClusterFacts> {
      const version = await kube.version.getCode().catch(() => undefined);
      const canNodes = await access.can({ verb: "list", resource: "nodes" });
      const nodes = canNodes ? (await kube.core.listNode().catch(() => ({ items: [] }))).items : [];
      return {
        kubernetesVersion: version?.gitVersion ?? "unknown",
        distribution: distributionOf(version?.gitVersion ?? "", nodes),
        nodeCount: nodes.length,
        namespace: cfg.namespace,
        mode: cfg.mode,
      };
    },

    async telemetry() {
      const signal = AbortSignal.timeout(20_000);
      const [snap, access_] = await Promise.all([
        collectTelemetry(
          {
            kube,
            access,
            namespace: cfg.namespace,
            release: cfg.release,
            camel,
            metricsUrl: cfg.metricsUrl,
            licenseToken: cfg.licenseToken,
            fetch: fetchFn,
          },
          signal,
        ),
        access.summary(cfg.namespace),
      ]);
      return { ...snap, mode: cfg.mode, access: { ...access_, manageRelease: cfg.manageRelease } };
    },

    async apply(
      desired: DesiredState,
      onProgress: (p: ApplyProgress) => void,
      signal: AbortSignal,
    ): Promise<ApplyResult> {
      if (!cfg.manageRelease) {
        return {
          generation: desired.generation,
          outcome: "failed",
          message: `this agent does not manage the release (mode ${cfg.mode}); nothing was attempted`,
        };
      }
      const e = await executor();
      const viaJob = cfg.selfUpgrade === "job" || (cfg.selfUpgrade === "auto" && kube.inCluster);
      if (!viaJob || !desired.release) return e.apply(desired, onProgress, signal);
      const chart = await e.prepareChart(desired, onProgress, signal);
      if (typeof chart !== "string") return chart;
      onProgress({ phase: "upgrading", message: "through a one-shot upgrade Job" });
      return applyThroughJob(
        {
          core: kube.core,
          batch: kube.batch,
          namespace: cfg.namespace,
          release: cfg.release,
          podName: cfg.identity,
          timeoutSeconds: cfg.helmTimeoutSeconds,
          pollMs: o.healthPollMs,
        },
        desired,
        await readFile(chart),
        signal,
      );
    },

    async runCommand(type: string, args: Record<string, unknown>, ctx: CommandContext): Promise<unknown> {
      // echo: the operator's check that the link and the agent's outbox work end to end; reads nothing
      if (type === "echo") return { echo: args, agentTime: new Date().toISOString() };
      return (await supportFor()).run(type, args, ctx);
    },
  };
}
