// Shared set-up of the agent's cross-component tests: the Kubernetes API simulator, the real helm binaries, the
// runner chart packaged and served over HTTP with its digest, fake Camel runtimes on loopback, a real ClusterPort.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import pino from "pino";
import { parse as parseYaml } from "yaml";
import { clusterConfigFrom } from "../../agent/src/cluster/config.ts";
import { createKubeCluster, type KubeClusterOptions } from "../../agent/src/cluster/kube-cluster.ts";
import type { DesiredState } from "../../agent/src/cluster-port.ts";
import type { CamelEndpoint } from "../../agent/src/helm/health-gate.ts";
import { KubeSim } from "../k8s-sim/sim.ts";

const run = promisify(execFile);
export const HELM = { 3: resolve(".tools/helm3/helm"), 4: resolve(".tools/helm4/helm") } as const;
export const quietLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

export interface ChartServer {
  url: string;
  digest: string;
  version: string;
  bytes: Buffer;
  server: Server;
  close(): Promise<void>;
}

/** `helm package` of a chart directory, served on loopback (the stand-in for the cloud's chart URL). */
export async function serveChart(dir = "charts/runner"): Promise<ChartServer> {
  const out = await mkdtemp(join(tmpdir(), "chart-pkg-"));
  await run(HELM[4], ["package", resolve(dir), "-d", out], { env: { ...process.env, HOME: out } });
  const chartYaml = parseYaml(await readFile(join(dir, "Chart.yaml"), "utf8")) as { name: string; version: string };
  const bytes = await readFile(join(out, `${chartYaml.name}-${chartYaml.version}.tgz`));
  await rm(out, { recursive: true, force: true });
  const server = createServer((_req, res) => {
    res.setHeader("content-type", "application/gzip");
    res.end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/chart.tgz`,
    digest: createHash("sha256").update(bytes).digest("hex"),
    version: chartYaml.version,
    bytes,
    server,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** Small runner values: integrations only (no agent, metrics or logs stack), so a rollout takes a second. */
export function runnerValues(integrations: Array<{ name: string; route?: string }>): Record<string, unknown> {
  return {
    agent: { enabled: false },
    console: { enabled: false },
    victoriametrics: { enabled: false },
    victorialogs: { enabled: false },
    otelCollector: { enabled: false },
    postgresql: { enabled: false },
    tests: { enabled: false },
    networkPolicy: { enabled: false },
    podDisruptionBudget: { enabled: false },
    integrations: integrations.map((i) => ({
      name: i.name,
      routes: {
        [`${i.name}.camel.yaml`]: `- route:\n    from: {uri: "timer:${i.route ?? "tick"}"}\n    steps: [{log: "${i.route ?? "tick"}"}]\n`,
      },
    })),
  };
}

export function desired(
  generation: number,
  chart: ChartServer,
  values: Record<string, unknown>,
  digest?: string,
): DesiredState {
  return {
    generation,
    release: {
      id: `rel_${chart.version}`,
      chartVersion: chart.version,
      chartDigest: digest ?? chart.digest,
      chartUrl: chart.url,
    },
    values,
    valuesDigest: createHash("sha256").update(JSON.stringify(values)).digest("hex"),
  };
}

/** Camel runtimes on loopback: every pod answers ready and serves metrics, unless listed in `notReady`. */
export async function fakeCamel() {
  const notReady = new Set<string>();
  const exchanges = new Map<string, number>();
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    const pod = u.searchParams.get("pod") ?? "";
    if (u.pathname === "/observe/health/ready") {
      res.statusCode = notReady.has(pod) ? 503 : 200;
      res.end(JSON.stringify({ status: notReady.has(pod) ? "DOWN" : "UP" }));
    } else if (u.pathname === "/observe/metrics") {
      const n = exchanges.get(pod) ?? 10;
      res.setHeader("content-type", "text/plain; version=0.0.4");
      res.end(
        `camel_exchanges_total{routeId="r"} ${n}\ncamel_exchanges_failed_total{routeId="r"} 1\ncamel_exchanges_inflight{routeId="r"} 0\ncamel_routes_running 1\n`,
      );
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const endpoint: CamelEndpoint = async (pod, path, signal) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}?pod=${pod.metadata?.name}`, { signal });
    return { status: res.status, body: await res.text() };
  };
  return { endpoint, notReady, exchanges, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export async function startSim() {
  return KubeSim.start({ readyDelayMs: 150 });
}

export interface ClusterUnderTest {
  cluster: ReturnType<typeof createKubeCluster>;
  stateDir: string;
  cleanup(): Promise<void>;
}

export async function makeCluster(
  sim: KubeSim,
  opts: {
    helm: 3 | 4;
    release?: string;
    namespace?: string;
    identity?: string;
    timeoutSeconds?: number;
    env?: Record<string, string>;
  } & Partial<Omit<KubeClusterOptions, "config" | "logger">>,
): Promise<ClusterUnderTest> {
  const stateDir = await mkdtemp(join(tmpdir(), "agent-state-"));
  const config = clusterConfigFrom({
    CAMEL_OPS_MODE: "appliance",
    CAMEL_OPS_NAMESPACE: opts.namespace ?? "default",
    CAMEL_OPS_POD_NAME: opts.identity ?? "agent-0",
    CAMEL_OPS_RELEASE_NAME: opts.release ?? "camel",
    CAMEL_OPS_MANAGE_RELEASE: "true",
    KUBECONFIG: sim.kubeconfigPath,
    CAMEL_OPS_HELM_BIN: HELM[opts.helm],
    CAMEL_OPS_STATE_DIR: stateDir,
    CAMEL_OPS_HELM_TIMEOUT_SECONDS: String(opts.timeoutSeconds ?? 20),
    ...opts.env,
  });
  const cluster = createKubeCluster({ config, logger: quietLogger, healthPollMs: 200, ...opts });
  return { cluster, stateDir, cleanup: () => rm(stateDir, { recursive: true, force: true }) };
}

export const statusOfRelease = (sim: KubeSim, release: string, revision: number) =>
  sim.get("Secret", "default", `sh.helm.release.v1.${release}.v${revision}`)?.metadata?.labels?.status as
    | string
    | undefined;
