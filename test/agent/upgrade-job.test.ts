// Self-upgrade out of band: the agent hands the verified chart and values to a one-shot Job (same image, service
// account and env as its own pod); the Job runs the executor and leaves its result where the agent reads it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { runUpgradeJob, writeHandoff } from "../../agent/src/helm/upgrade-job.ts";
import type { KubeSim } from "../k8s-sim/sim.ts";
import {
  type ChartServer,
  type ClusterUnderTest,
  desired,
  fakeCamel,
  makeCluster,
  runnerValues,
  serveChart,
  startSim,
} from "./harness.ts";

// helm rollouts against the simulator on a shared 2-core machine: generous per-test bounds
vi.setConfig({ testTimeout: 180_000 });

let sim: KubeSim;
let chart: ChartServer;
let camel: Awaited<ReturnType<typeof fakeCamel>>;
const cleanups: ClusterUnderTest[] = [];
let dir: string;

beforeAll(async () => {
  [sim, chart, camel] = await Promise.all([startSim(), serveChart(), fakeCamel()]);
  dir = await mkdtemp(join(tmpdir(), "upgrade-job-"));
  sim.seed({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "camel-agent-7d9f-abcde",
      namespace: "default",
      labels: { "app.kubernetes.io/component": "agent" },
    },
    spec: {
      serviceAccountName: "camel-agent",
      securityContext: { runAsNonRoot: true, runAsUser: 10001 },
      containers: [
        {
          name: "agent",
          image: "ghcr.io/camel-ops/agent:0.1.0",
          env: [
            { name: "CAMEL_OPS_RELEASE_NAME", value: "camel" },
            { name: "CAMEL_OPS_POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          ],
          securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
        },
      ],
    },
  });
});
afterAll(async () => {
  await sim?.stop();
  await chart?.close();
  await camel?.close();
  for (const c of cleanups) await c.cleanup();
  await rm(dir, { recursive: true, force: true });
});

it("upgrades its own release through a one-shot Job and reports the Job's result", async () => {
  const agent = await makeCluster(sim, {
    helm: 4,
    release: "camel",
    identity: "camel-agent-7d9f-abcde",
    camel: camel.endpoint,
    env: { CAMEL_OPS_SELF_UPGRADE: "job" },
  });
  cleanups.push(agent);
  const phases: string[] = [];
  const applying = agent.cluster.apply(
    desired(1, chart, runnerValues([{ name: "orders" }])),
    (p) => phases.push(p.phase),
    AbortSignal.timeout(120_000),
  );

  const job = await sim.waitFor("Job", "default", "camel-upgrade-g1", () => true, 15_000);
  const pod = job.spec.template.spec;
  expect(job.spec.backoffLimit).toBe(0);
  expect(pod.serviceAccountName).toBe("camel-agent");
  expect(pod.containers[0].image).toBe("ghcr.io/camel-ops/agent:0.1.0");
  expect(pod.containers[0].args).toEqual(["upgrade-job", "/upgrade"]);
  expect(pod.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
  expect(pod.containers[0].env).toContainEqual({
    name: "CAMEL_OPS_POD_NAME",
    valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
  });
  expect(pod.volumes).toContainEqual({ name: "upgrade", secret: { secretName: "camel-upgrade-g1" } });
  // nothing ran helm in the agent itself
  expect(sim.get("Secret", "default", "sh.helm.release.v1.camel.v1")).toBeUndefined();

  // the Job's container: the hand-off Secret mounted at /upgrade, the executor under its own identity
  const handoff = sim.get("Secret", "default", "camel-upgrade-g1")!;
  await writeHandoff(join(dir, "upgrade"), handoff.data);
  const upgrader = await makeCluster(sim, {
    helm: 4,
    release: "camel",
    identity: "camel-upgrade-g1-xyz",
    camel: camel.endpoint,
    env: { CAMEL_OPS_SELF_UPGRADE: "inline" },
  });
  cleanups.push(upgrader);
  const jobResult = await runUpgradeJob({
    dir: join(dir, "upgrade"),
    executor: await upgrader.cluster.executor(),
    core: upgrader.cluster.kube.core,
    namespace: "default",
    release: "camel",
    signal: AbortSignal.timeout(120_000),
  });
  expect(jobResult.outcome).toBe("healthy");

  const r = await applying;
  expect(r).toMatchObject({ generation: 1, outcome: "healthy", revision: 1 });
  expect(phases).toContain("verifying");
  expect(sim.get("Secret", "default", "sh.helm.release.v1.camel.v1")?.metadata?.labels?.status).toBe("deployed");
});

it("refuses a tampered hand-off in the Job", async () => {
  const upgrader = await makeCluster(sim, {
    helm: 4,
    release: "camel",
    identity: "job-2",
    env: { CAMEL_OPS_SELF_UPGRADE: "inline" },
  });
  cleanups.push(upgrader);
  const d = desired(2, chart, runnerValues([{ name: "orders" }]));
  await writeHandoff(join(dir, "tampered"), {
    "chart.tgz": Buffer.from("not the chart").toString("base64"),
    "desired.json": Buffer.from(JSON.stringify(d)).toString("base64"),
  });
  await expect(
    runUpgradeJob({
      dir: join(dir, "tampered"),
      executor: await upgrader.cluster.executor(),
      core: upgrader.cluster.kube.core,
      namespace: "default",
      release: "camel",
      signal: AbortSignal.timeout(10_000),
    }),
  ).rejects.toThrow(/digest/);
});
