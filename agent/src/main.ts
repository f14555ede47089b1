// The agent process: parse config (every bad field printed, exit 1), build the key store (a Secret in a cluster,
// a 0600 file outside one), the state file and the Kubernetes ClusterPort, run the agent, serve probes, and stop
// within a bounded time on SIGTERM.
import { join } from "node:path";
import pino from "pino";
import { createAgent } from "./agent.ts";
import { clusterConfigFrom } from "./cluster/config.ts";
import { createKubeCluster } from "./cluster/kube-cluster.ts";
import { AgentConfigError, loadAgentConfig, proxyFor } from "./config.ts";
import { createProbeHandler, listen } from "./console/server.ts";
import { runUpgradeJobMain } from "./helm/upgrade-job-main.ts";
import { createKubernetesSecretKeyStore, FileKeyStore, type KeyStore } from "./keystore.ts";
import { FileStateStore } from "./state-store.ts";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadAgentConfig>;
  try {
    config = loadAgentConfig(process.env);
  } catch (err) {
    if (err instanceof AgentConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = pino({ level: config.logLevel, base: { service: "camel-ops-agent" } });
  const keyStore: KeyStore =
    config.inCluster && config.keySecret
      ? await createKubernetesSecretKeyStore(config.namespace, config.keySecret)
      : new FileKeyStore(join(config.stateDir, "agent-key.jwk"));
  const stateStore = new FileStateStore(join(config.stateDir, "agent-state.json"));
  // Charts come from the cloud, authenticated with the agent's own short-lived JWT (the agent is created below).
  let agentRef: ReturnType<typeof createAgent> | undefined;
  const cluster = createKubeCluster({
    config: clusterConfigFrom(process.env),
    logger: logger.child({ component: "cluster" }),
    chartFetch: (url, init) => (agentRef ? agentRef.cloudFetch(url, init) : fetch(url, init)),
    cloudFetch: (url, init) => (agentRef ? agentRef.cloudFetch(String(url), init) : fetch(url, init)),
  });
  const agent = createAgent({
    cloudUrl: config.cloudUrl,
    licenseToken: config.licenseToken,
    keyStore,
    stateStore,
    cluster,
    logger: logger.child({ component: "link" }),
    ca: config.ca,
    proxyUrl: proxyFor(config),
    noProxy: config.noProxy,
  });
  agentRef = agent;
  logger.info(
    { cloudUrl: config.cloudUrl, keyStore: keyStore.describe(), proxy: !!proxyFor(config) },
    "agent starting",
  );
  await agent.start();
  const probes = await listen(
    createProbeHandler({
      healthy: () => true,
      ready: () => agent.status().phase !== "idle",
      linked: () => agent.status().phase === "connected",
      metrics: () => {
        const s = agent.status();
        return {
          camel_ops_agent_connected: { value: s.phase === "connected" ? 1 : 0 },
          camel_ops_agent_connects_total: { value: s.connects, type: "counter" },
          camel_ops_agent_failed_dials_total: { value: s.failedDials, type: "counter" },
          camel_ops_agent_events_buffered: { value: s.eventsBuffered },
          camel_ops_agent_events_dropped_total: { value: s.eventsDropped, type: "counter" },
          camel_ops_agent_metrics_dropped_total: { value: s.metricsDropped, type: "counter" },
          camel_ops_agent_observed_generation: { value: s.observedGeneration },
        };
      },
      status: () => ({ ...agent.status() }),
    }),
    config.port,
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "agent stopping");
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    Promise.all([agent.stop(), probes.close()]).then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

// `agent upgrade-job <dir>`: the one-shot Job that upgrades the agent's own release from outside its pod.
if (process.argv[2] === "upgrade-job") {
  const dir = process.argv[3];
  if (!dir) {
    process.stderr.write("usage: agent upgrade-job <dir with chart and values>\n");
    process.exit(2);
  }
  const logger = pino({ level: process.env.CAMEL_OPS_LOG_LEVEL ?? "info", base: { service: "camel-ops-upgrade-job" } });
  try {
    process.exit(await runUpgradeJobMain(dir, process.env, logger));
  } catch (err) {
    process.stderr.write(`upgrade job failed: ${(err as Error).message}\n`);
    process.exit(1);
  }
} else {
  await main();
}
