// A helm killed mid-upgrade leaves `pending-upgrade`; the next run (another replica, after the dead holder's Lease
// expires) recovers it. Two replicas applying at once never run helm at the same time.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ApplyProgress } from "../../agent/src/cluster-port.ts";
import { fetchVerifiedChart } from "../../agent/src/helm/chart-source.ts";
import { detectHelm, runHelm, upgradeArgs } from "../../agent/src/helm/helm-cli.ts";
import { HelmLease } from "../../agent/src/helm/helm-lease.ts";
import type { KubeSim } from "../k8s-sim/sim.ts";
import {
  type ChartServer,
  type ClusterUnderTest,
  desired,
  fakeCamel,
  HELM,
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

describe.each([3, 4] as const)("helm %i", (major) => {
  let sim: KubeSim;
  const release = `rec${major}`;
  const clusters: ClusterUnderTest[] = [];
  let tmp: string;
  beforeAll(async () => {
    sim = await startSim();
    tmp = await mkdtemp(join(tmpdir(), "helm-rec-"));
  });
  afterAll(async () => {
    await sim?.stop();
    for (const c of clusters) await c.cleanup();
    await rm(tmp, { recursive: true, force: true });
  });
  const replica = async (identity: string) => {
    const c = await makeCluster(sim, {
      helm: major,
      release,
      identity,
      timeoutSeconds: 30,
      camel: camel.endpoint,
      executor: { leaseDurationSeconds: 2 },
    });
    clusters.push(c);
    return c;
  };

  it("recovers a release left pending-upgrade by a helm killed with SIGKILL", async () => {
    const a = await replica("agent-a");
    const r1 = await a.cluster.apply(
      desired(1, chart, runnerValues([{ name: "orders" }])),
      () => {},
      AbortSignal.timeout(30_000),
    );
    expect(r1.outcome).toBe("healthy");

    // agent-a dies mid-upgrade: it holds the Lease, its helm waits for a slow workload and is SIGKILLed
    sim.injectFault("Deployment", "default", `${release}-runner-payments`, { type: "slow", delayMs: 60_000 });
    const lease = new HelmLease({
      coord: a.cluster.kube.coord,
      namespace: "default",
      name: `${release}-helm`,
      identity: "agent-a",
      durationSeconds: 2,
    });
    expect(await lease.tryAcquire("apply generation 2")).toBe(true);
    const helm = await detectHelm(HELM[major], join(tmp, "home"), sim.kubeconfigPath);
    const chartPath = await fetchVerifiedChart({
      url: chart.url,
      digest: chart.digest,
      cacheDir: tmp,
      fetch,
      signal: AbortSignal.timeout(10_000),
    });
    const valuesFile = join(tmp, "values.json");
    await writeFile(valuesFile, JSON.stringify(runnerValues([{ name: "orders" }, { name: "payments" }])));
    const args = upgradeArgs(major, {
      release,
      namespace: "default",
      chartPath,
      valuesFile,
      timeoutSeconds: 60,
      historyMax: 10,
      serverSide: false,
      wait: true,
    });
    let pid = 0;
    const killed = runHelm(helm, args, { onSpawn: (p) => (pid = p) });
    await sim.waitFor(
      "Secret",
      "default",
      `sh.helm.release.v1.${release}.v2`,
      (s) => s.metadata?.labels?.status === "pending-upgrade",
      15_000,
    );
    process.kill(pid, "SIGKILL");
    const dead = await killed;
    expect(dead.signal).toBe("SIGKILL");
    expect(statusOfRelease(sim, release, 2)).toBe("pending-upgrade");

    // Helm itself is now locked out
    const locked = await runHelm(
      helm,
      args.map((x) => (x === "60s" ? "5s" : x)),
    );
    expect(locked.code).not.toBe(0);
    expect(locked.stderr).toMatch(/another operation .* in progress/);
    sim.clearFault("Deployment", "default", `${release}-runner-payments`);

    // agent-b waits for agent-a's Lease to expire, unlocks the release and converges
    const b = await replica("agent-b");
    await lease.renew(); // agent-a's last renewal, just before it "died"
    const progress: ApplyProgress[] = [];
    const r = await b.cluster.apply(
      desired(3, chart, runnerValues([{ name: "orders", route: "after-recovery" }])),
      (p) => progress.push(p),
      AbortSignal.timeout(120_000),
    );
    expect(progress).toContainEqual({ phase: "waiting-lock", message: "held by agent-a" });
    expect(r).toMatchObject({ generation: 3, outcome: "healthy" });
    expect(statusOfRelease(sim, release, 2)).toBe("failed");
    // 3: the rollback to 1 during recovery, 4: the new generation
    expect(r.revision).toBe(4);
    expect(statusOfRelease(sim, release, 4)).toBe("deployed");
  });

  it("forwards SIGTERM to helm on abort, so the release is marked failed rather than left pending", async () => {
    const c = await replica("agent-term");
    sim.injectFault("Deployment", "default", `${release}-runner-slowpoke`, { type: "slow", delayMs: 60_000 });
    const ac = new AbortController();
    const applying = c.cluster.apply(
      desired(20, chart, runnerValues([{ name: "orders" }, { name: "slowpoke" }])),
      () => {},
      ac.signal,
    );
    const before = sim.list("Secret", "default", { labelSelector: `owner=helm,name=${release}` }).length;
    const rev = before + 1;
    await sim.waitFor(
      "Secret",
      "default",
      `sh.helm.release.v1.${release}.v${rev}`,
      (s) => s.metadata?.labels?.status === "pending-upgrade",
      30_000,
    );
    ac.abort(new Error("SIGTERM"));
    const r = await applying;
    sim.clearFault("Deployment", "default", `${release}-runner-slowpoke`);
    expect(r.outcome).toBe("failed");
    expect(r.message).toMatch(/interrupted/);
    expect(statusOfRelease(sim, release, rev)).toBe("failed");
  });

  it("two replicas applying at once never run helm at the same time", async () => {
    const intervals: Array<{ who: string; pid: number; start: number; end?: number }> = [];
    const observed = (who: string) => ({
      leaseDurationSeconds: 2,
      onHelmSpawn: (pid: number) => intervals.push({ who, pid, start: performance.now() }),
      onHelmExit: (pid: number) => {
        const i = intervals.find((x) => x.pid === pid && x.end === undefined);
        if (i) i.end = performance.now();
      },
    });
    const mk = async (identity: string) => {
      const c = await makeCluster(sim, {
        helm: major,
        release,
        identity,
        timeoutSeconds: 30,
        camel: camel.endpoint,
        executor: observed(identity),
      });
      clusters.push(c);
      return c;
    };
    const [x, y] = await Promise.all([mk("replica-x"), mk("replica-y")]);
    const [rx, ry] = await Promise.all([
      x.cluster.apply(
        desired(10, chart, runnerValues([{ name: "orders", route: "x" }])),
        () => {},
        AbortSignal.timeout(120_000),
      ),
      y.cluster.apply(
        desired(11, chart, runnerValues([{ name: "orders", route: "y" }])),
        () => {},
        AbortSignal.timeout(120_000),
      ),
    ]);
    expect(rx.outcome).toBe("healthy");
    expect(ry.outcome).toBe("healthy");
    expect(new Set(intervals.map((i) => i.who))).toEqual(new Set(["replica-x", "replica-y"]));
    for (const i of intervals) expect(i.end).toBeDefined();
    const sorted = [...intervals].sort((p, q) => p.start - q.start);
    for (let k = 1; k < sorted.length; k++) expect(sorted[k]!.start).toBeGreaterThanOrEqual(sorted[k - 1]!.end!);
    expect(Math.abs((rx.revision ?? 0) - (ry.revision ?? 0))).toBe(1);
  });
});
