// The idle agent the memory benchmark runs (bundled like the image's agent): agent core + real ClusterPort +
// probe server, configured from the environment. Stands in for agent/src/main.ts where that is not built yet.
import pino from "pino";
import { createAgent } from "../agent/src/agent.ts";
import { clusterConfigFrom } from "../agent/src/cluster/config.ts";
import { createKubeCluster } from "../agent/src/cluster/kube-cluster.ts";
import { createProbeHandler, listen } from "../agent/src/console/server.ts";
import { MemoryKeyStore } from "../agent/src/keystore.ts";
import { MemoryStateStore } from "../agent/src/state-store.ts";

const logger = pino({ level: process.env.CAMEL_OPS_LOG_LEVEL ?? "warn" });
const config = clusterConfigFrom(process.env);
const cluster = createKubeCluster({ config, logger });
const agent = createAgent({
  cloudUrl: process.env.CAMEL_OPS_CLOUD_URL ?? "",
  licenseToken: process.env.CAMEL_OPS_LICENSE_TOKEN,
  cluster,
  keyStore: new MemoryKeyStore(),
  stateStore: new MemoryStateStore(),
  logger,
  telemetryIntervalMs: Number(process.env.BENCH_TELEMETRY_MS ?? 15_000),
});
const probes = await listen(
  createProbeHandler({
    healthy: () => true,
    ready: () => agent.status().phase === "connected",
    linked: () => agent.status().phase === "connected",
    metrics: () => ({ camel_ops_agent_connects_total: { value: agent.status().connects, type: "counter" } }),
    status: () => ({ ...agent.status() }),
  }),
  Number(process.env.CAMEL_OPS_PORT ?? 0),
  "127.0.0.1",
);
await agent.start();
process.on("SIGTERM", async () => {
  if (process.env.BENCH_DEBUG) process.stderr.write(`memory ${JSON.stringify(process.memoryUsage())}\n`);
  await agent.stop();
  await probes.close();
  process.exit(0);
});
