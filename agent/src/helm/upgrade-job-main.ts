// Entry of the one-shot upgrade Job (`node /app/agent.mjs upgrade-job /upgrade`): the agent's main dispatches here.
import type { Logger } from "pino";
import { clusterConfigFrom } from "../cluster/config.ts";
import { createKubeCluster } from "../cluster/kube-cluster.ts";
import { runUpgradeJob } from "./upgrade-job.ts";

/** Returns the process exit code: 0 when the release ended healthy or rolled back cleanly, 1 otherwise. */
export async function runUpgradeJobMain(
  dir: string,
  env: Record<string, string | undefined>,
  logger: Logger,
): Promise<number> {
  const config = { ...clusterConfigFrom(env), selfUpgrade: "inline" as const };
  const cluster = createKubeCluster({ config, logger });
  const ac = new AbortController();
  // SIGTERM reaches helm through the executor's signal, so the release is marked failed, never left pending.
  process.once("SIGTERM", () => ac.abort(new Error("SIGTERM")));
  const result = await runUpgradeJob({
    dir,
    executor: await cluster.executor(),
    core: cluster.kube.core,
    namespace: config.namespace,
    release: config.release,
    signal: ac.signal,
  });
  logger.info({ result }, "upgrade job finished");
  return result.outcome === "failed" ? 1 : 0;
}
