// Telemetry of the real ClusterPort against the simulator: K3s detection, nodes, our release, its workloads,
// Camel figures (runtimes or VictoriaMetrics), license and certificate expiry; and only changes between snapshots.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { TelemetryDiffer } from "../../agent/src/cluster/telemetry-diff.ts";
import type { KubeSim } from "../k8s-sim/sim.ts";
import { generateTls } from "../k8s-sim/tls.ts";
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
let cut: ClusterUnderTest;
const exp = Math.floor(Date.UTC(2027, 0, 31) / 1000);
const license = `eyJhbGciOiJFZERTQSJ9.${Buffer.from(JSON.stringify({ sub: "lic_1", exp })).toString("base64url")}.c2ln`;

beforeAll(async () => {
  [sim, chart, camel] = await Promise.all([startSim(), serveChart(), fakeCamel()]);
  cut = await makeCluster(sim, {
    helm: 4,
    release: "tel",
    camel: camel.endpoint,
    env: { CAMEL_OPS_LICENSE_TOKEN: license },
  });
  const r = await cut.cluster.apply(
    desired(1, chart, runnerValues([{ name: "orders" }])),
    () => {},
    AbortSignal.timeout(120_000),
  );
  expect(r.outcome).toBe("healthy");
  const tls = generateTls();
  sim.seed({
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/tls",
    metadata: { name: "orders-tls", namespace: "default" },
    data: { "tls.crt": Buffer.from(tls.certPem).toString("base64"), "tls.key": Buffer.from("k").toString("base64") },
  });
});
afterAll(async () => {
  await sim?.stop();
  await chart?.close();
  await camel?.close();
  await cut?.cleanup();
});

it("collects cluster, release, workloads, Camel figures, license and certificate expiry", async () => {
  // biome-ignore lint/suspicious/noExplicitAny: a JSON document the test walks freely
  const t = (await cut.cluster.telemetry()) as Record<string, any>;
  expect(t.cluster).toMatchObject({ distribution: "k3s", kubernetesVersion: expect.stringContaining("k3s") });
  expect(t.cluster.nodes[0]).toMatchObject({
    ready: true,
    pressure: { memory: false, disk: false, pid: false },
    capacity: { cpu: "4" },
  });
  expect(t.release).toMatchObject({ name: "tel", revision: 1, status: "deployed", chartVersion: chart.version });
  expect(t.workloads).toContainEqual({
    kind: "Deployment",
    name: "tel-runner-orders",
    integration: "orders",
    desired: 1,
    ready: 1,
    restarts: 0,
  });
  expect(t.integrations.orders).toMatchObject({
    exchangesTotal: 10,
    exchangesFailed: 1,
    exchangesInflight: 0,
    routesRunning: 1,
    source: "runtime",
  });
  expect(t.license.expiresAt).toBe("2027-01-31T00:00:00.000Z");
  expect(t.certificates).toContainEqual(
    expect.objectContaining({ secret: "orders-tls", notAfter: expect.any(String) }),
  );

  const facts = await cut.cluster.facts();
  expect(facts).toMatchObject({ distribution: "k3s", nodeCount: 1, mode: "appliance" });
});

it("sends only what changed between full snapshots", async () => {
  const d = new TelemetryDiffer(10);
  expect(d.next(await cut.cluster.telemetry())?.kind).toBe("full");
  expect(d.next(await cut.cluster.telemetry())).toBeNull();
  const pod = String(
    sim.list("Pod", "default", { labelSelector: "camel-ops.io/integration=orders" })[0]?.metadata?.name,
  );
  camel.exchanges.set(pod, 42);
  sim.setNodeCondition("sim-node-1", "DiskPressure", "True");
  const patch = d.next(await cut.cluster.telemetry());
  expect(patch?.kind).toBe("patch");
  expect(patch?.data).toEqual({
    integrations: { orders: { exchangesTotal: 42 } },
    cluster: { nodes: [expect.objectContaining({ pressure: { memory: false, disk: true, pid: false } })] },
  });
});

it("reads the Camel figures from VictoriaMetrics when it is installed", async () => {
  const vm = createServer((req, res) => {
    const q = new URL(req.url ?? "/", "http://x").searchParams.get("query") ?? "";
    const value = q.includes("failed") ? "3" : q.includes("inflight") ? "2" : q.includes("routes") ? "4" : "500";
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        status: "success",
        data: { resultType: "vector", result: [{ metric: { integration: "orders" }, value: [0, value] }] },
      }),
    );
  });
  await new Promise<void>((r) => vm.listen(0, "127.0.0.1", r));
  const withVm = await makeCluster(sim, {
    helm: 4,
    release: "tel",
    camel: camel.endpoint,
    env: { CAMEL_OPS_METRICS_URL: `http://127.0.0.1:${(vm.address() as AddressInfo).port}` },
  });
  try {
    // biome-ignore lint/suspicious/noExplicitAny: a JSON document the test walks freely
    const t = (await withVm.cluster.telemetry()) as Record<string, any>;
    expect(t.integrations.orders).toEqual({
      exchangesTotal: 500,
      exchangesFailed: 3,
      exchangesInflight: 2,
      routesRunning: 4,
      source: "victoriametrics",
    });
  } finally {
    vm.close();
    await withVm.cleanup();
  }
});
