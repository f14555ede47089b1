// The Helm executor against the Kubernetes API simulator with the real helm 3 and helm 4 binaries and the runner
// chart: upgrade to healthy, never-ready → rollback with evidence, digest refusal.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ApplyProgress } from "../../agent/src/cluster-port.ts";
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
  statusOfRelease,
} from "./harness.ts";

// helm rollouts against the simulator on a shared 2-core machine: generous per-test bounds
vi.setConfig({ testTimeout: 180_000 });

let chart: ChartServer;
let camel: Awaited<ReturnType<typeof fakeCamel>>;
beforeAll(async () => {
  [chart, camel] = await Promise.all([serveChart(), fakeCamel()]);
});
afterAll(async () => {
  await chart?.close();
  await camel?.close();
});

describe.each([3, 4] as const)("helm %i executor", (major) => {
  let sim: KubeSim;
  let cut: ClusterUnderTest;
  const release = `camel${major}`;
  const progress: ApplyProgress[] = [];
  const onProgress = (p: ApplyProgress) => progress.push(p);
  const signal = () => AbortSignal.timeout(120_000);

  beforeAll(async () => {
    sim = await startSim();
    // the deadline of upgrade + health: ample for a healthy rollout on a loaded machine, waited out by the failures
    cut = await makeCluster(sim, { helm: major, release, timeoutSeconds: 20, camel: camel.endpoint });
  });
  afterAll(async () => {
    await sim?.stop();
    await cut?.cleanup();
  });

  it("installs, then upgrades on a new generation, and reports healthy with that generation", async () => {
    const r1 = await cut.cluster.apply(desired(1, chart, runnerValues([{ name: "orders" }])), onProgress, signal());
    expect(r1).toMatchObject({ generation: 1, outcome: "healthy", revision: 1, chartVersion: chart.version });

    const r2 = await cut.cluster.apply(
      desired(2, chart, runnerValues([{ name: "orders", route: "tock" }])),
      onProgress,
      signal(),
    );
    expect(r2).toMatchObject({ generation: 2, outcome: "healthy", revision: 2 });
    expect(progress.map((p) => p.phase)).toEqual(
      expect.arrayContaining(["fetching", "verifying", "waiting-lock", "upgrading", "health-check"]),
    );
    expect(statusOfRelease(sim, release, 2)).toBe("deployed");
    const cm = sim.get("ConfigMap", "default", `${release}-runner-orders`);
    expect(JSON.stringify(cm?.data)).toContain("tock");
  });

  it("rolls back by itself when a workload never becomes ready, with the Helm error and failing resources", async () => {
    sim.injectFault("Deployment", "default", `${release}-runner-payments`, { type: "never-ready" });
    progress.length = 0;
    const r = await cut.cluster.apply(
      desired(3, chart, runnerValues([{ name: "orders", route: "tock" }, { name: "payments" }])),
      onProgress,
      signal(),
    );
    expect(r.generation).toBe(3);
    expect(r.outcome).toBe("rolled-back");
    expect(r.evidence?.helmError).toBeTruthy();
    expect(r.evidence?.failingResources?.some((f) => f.name.includes("payments"))).toBe(true);
    expect(progress.map((p) => p.phase)).toContain("rolling-back");
    // healthy again at the previous revision's content: revision 4 is the rollback to 2
    expect(r.revision).toBe(4);
    expect(statusOfRelease(sim, release, 4)).toBe("deployed");
    expect(statusOfRelease(sim, release, 3)).toBe("failed");
    expect(sim.get("Deployment", "default", `${release}-runner-payments`)).toBeUndefined();
    const orders = sim.get("Deployment", "default", `${release}-runner-orders`);
    expect(orders?.status?.readyReplicas).toBe(1);
  });

  it("refuses a chart whose digest does not match and runs no helm", async () => {
    const wrong = "0".repeat(64);
    const r = await cut.cluster.apply(
      desired(5, chart, runnerValues([{ name: "orders" }]), wrong),
      onProgress,
      signal(),
    );
    expect(r.outcome).toBe("failed");
    expect(r.message).toMatch(/refused/);
    expect(sim.get("Secret", "default", `sh.helm.release.v1.${release}.v5`)).toBeUndefined();
  });

  it("fails the gate when Camel does not answer ready even though pods are", async () => {
    const pods = sim.list("Pod", "default", {
      labelSelector: `camel-ops.io/integration=orders,app.kubernetes.io/instance=${release}`,
    });
    // the upgrade rolls new pods; mark every present and future orders pod unready on the Camel side
    const all = new Set(pods.map((p) => String(p.metadata?.name)));
    const orig = camel.notReady;
    for (const n of all) orig.add(n);
    const stopMarking = setInterval(() => {
      for (const p of sim.list("Pod", "default", { labelSelector: `app.kubernetes.io/instance=${release}` }))
        orig.add(String(p.metadata?.name));
    }, 50);
    try {
      const r = await cut.cluster.apply(
        desired(6, chart, runnerValues([{ name: "orders", route: "tack" }])),
        (p) => {
          // Camel recovers once the bad revision is being rolled back, so the rollback itself can go green
          if (p.phase === "rolling-back") {
            clearInterval(stopMarking);
            orig.clear();
          }
        },
        signal(),
      );
      expect(r.outcome).toBe("rolled-back");
      expect(r.evidence?.failingResources?.some((f) => /Camel not ready/.test(f.reason))).toBe(true);
    } finally {
      clearInterval(stopMarking);
      orig.clear();
    }
  });
});
