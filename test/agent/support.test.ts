// Remote support commands through the real ClusterPort against the simulator and real helm: typed, allow-listed,
// redacted; log follow respects the stream's credit and leaves the event loop free for heartbeats.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
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
let cut: ClusterUnderTest;
let svc: ReturnType<typeof createServer>;
let podName: string;
const ctx = () => ({ signal: AbortSignal.timeout(20_000) });

beforeAll(async () => {
  [sim, chart, camel] = await Promise.all([startSim(), serveChart(), fakeCamel()]);
  svc = createServer((req, res) => res.end(`hello from ${req.url} password=topsecret`));
  await new Promise<void>((r) => svc.listen(0, "127.0.0.1", r));
  const port = (svc.address() as AddressInfo).port;
  cut = await makeCluster(sim, {
    helm: 3,
    release: "sup",
    camel: camel.endpoint,
    env: { CAMEL_OPS_SUPPORT_HTTP_ALLOW: "sup-runner-orders:8080/observe, other:80" },
    serviceUrl: () => `http://127.0.0.1:${port}`,
  });
  const values = runnerValues([{ name: "orders" }]);
  (values.integrations as Array<Record<string, unknown>>)[0]!.properties = { "orders.db.password": "should-not-leak" };
  const r = await cut.cluster.apply(desired(1, chart, values), () => {}, AbortSignal.timeout(30_000));
  expect(r.message).toMatch(/healthy/);
  podName = String(sim.list("Pod", "default", { labelSelector: "camel-ops.io/integration=orders" })[0]?.metadata?.name);
});
afterAll(async () => {
  svc?.close();
  await sim?.stop();
  await chart?.close();
  await camel?.close();
  await cut?.cleanup();
});

describe("support commands", () => {
  it("lists workloads and events of the release namespace", async () => {
    const w = (await cut.cluster.runCommand("support.workloads", {}, ctx())) as {
      deployments: Array<{ name: string; ready: number }>;
      pods: Array<{ name: string; ready: boolean }>;
    };
    expect(w.deployments).toContainEqual(expect.objectContaining({ name: "sup-runner-orders", ready: 1 }));
    expect(w.pods.some((p) => p.name === podName && p.ready)).toBe(true);
    const ev = (await cut.cluster.runCommand("support.events", { limit: 5 }, ctx())) as { events: unknown[] };
    expect(Array.isArray(ev.events)).toBe(true);
  });

  it("returns a redacted log tail", async () => {
    sim.writePodLog("default", podName, "camel", "line one\nconnecting with token=abc123secret\nline three\n");
    const r = (await cut.cluster.runCommand("support.logs", { pod: podName, tailLines: 10 }, ctx())) as {
      lines: string;
    };
    expect(r.lines).toContain("line one");
    expect(r.lines).not.toContain("abc123secret");
  });

  it("gives Helm status, history and values with secrets redacted", async () => {
    const s = (await cut.cluster.runCommand("support.helm-status", {}, ctx())) as Record<string, unknown>;
    expect(s).toMatchObject({ found: true, status: "deployed", revision: 1 });
    expect(JSON.stringify(s)).not.toContain("should-not-leak");
    const h = (await cut.cluster.runCommand("support.helm-history", { max: 5 }, ctx())) as { history: unknown[] };
    expect(h.history).toHaveLength(1);
    const v = (await cut.cluster.runCommand("support.helm-values", {}, ctx())) as {
      values: { integrations: Array<{ properties: Record<string, unknown> }> };
    };
    expect(v.values.integrations[0]?.properties["orders.db.password"]).toBe("[redacted]");
  });

  it("proxies GET to allow-listed services only", async () => {
    const ok = (await cut.cluster.runCommand(
      "support.http",
      { service: "sup-runner-orders", port: 8080, path: "/observe/health" },
      ctx(),
    )) as { status: number; body: string };
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("hello from /observe/health");
    expect(ok.body).not.toContain("topsecret");
    await expect(
      cut.cluster.runCommand("support.http", { service: "sup-runner-orders", port: 8080, path: "/admin" }, ctx()),
    ).rejects.toThrow(/allow-list/);
    await expect(
      cut.cluster.runCommand("support.http", { service: "kubernetes", port: 443, path: "/" }, ctx()),
    ).rejects.toThrow(/allow-list/);
    await expect(
      cut.cluster.runCommand("support.http", { service: "other", port: 80, path: "/../etc" }, ctx()),
    ).rejects.toThrow(/bad arguments/);
  });

  it("refuses commands that are not allow-listed and bad arguments", async () => {
    await expect(cut.cluster.runCommand("exec", { cmd: "sh" }, ctx())).rejects.toThrow(/not allow-listed/);
    await expect(cut.cluster.runCommand("support.logs", { pod: "../x" }, ctx())).rejects.toThrow(/bad arguments/);
    await expect(cut.cluster.runCommand("support.workloads", { extra: 1 }, ctx())).rejects.toThrow(/bad arguments/);
  });

  it("builds a redacted support bundle", async () => {
    const b = (await cut.cluster.runCommand("support.bundle", { logTailLines: 20 }, ctx())) as {
      gzipBase64: string;
      sha256: string;
    };
    const content = gunzipSync(Buffer.from(b.gzipBase64, "base64")).toString("utf8");
    const parsed = JSON.parse(content);
    expect(parsed.kind).toBe("camel-ops-support-bundle");
    expect(parsed.helm.status.status).toBe("deployed");
    expect(content).not.toContain("should-not-leak");
    expect(content).not.toContain("abc123secret");
  });

  it("follows logs at the pace of the stream's credit, without holding the event loop", async () => {
    // a consumer with credit for one chunk at a time, granted every 30 ms (a slow operator's browser)
    const chunks: string[] = [];
    let waiting = 0;
    const emit = (chunk: string) =>
      new Promise<void>((resolve) => {
        waiting++;
        chunks.push(chunk);
        setTimeout(() => {
          waiting--;
          resolve();
        }, 30);
      });
    const ac = new AbortController();
    const follow = cut.cluster.runCommand(
      "support.logs",
      { pod: podName, follow: true, tailLines: 1, maxSeconds: 30 },
      { signal: ac.signal, emit },
    ) as Promise<{ followed: boolean; ended: string; lines: number }>;

    // the heartbeat stand-in: a 20 ms timer whose lateness we measure while logs flood in
    let worst = 0;
    let last = performance.now();
    const beat = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last - 20);
      last = now;
    }, 20);
    const line = `${"x".repeat(200)} token=leak-me\n`;
    // 40 kB every 10 ms for 1.5 s: about 6 MB offered, far more than the credit lets through
    const flood = setInterval(() => sim.writePodLog("default", podName, "camel", line.repeat(180)), 10);
    await new Promise((r) => setTimeout(r, 1500));
    clearInterval(flood);
    ac.abort();
    const r = await follow;
    clearInterval(beat);

    expect(r.followed).toBe(true);
    expect(r.ended).toBe("cancelled");
    expect(chunks.length).toBeGreaterThan(3);
    // credit respected: never more than one chunk outstanding, and far from everything delivered in 1.5 s
    expect(waiting).toBeLessThanOrEqual(1);
    expect(r.lines).toBeLessThan(10_000);
    expect(chunks.join("")).not.toContain("leak-me");
    expect(worst).toBeLessThan(250);
  });
});
