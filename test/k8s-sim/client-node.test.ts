// @kubernetes/client-node (v1) against the simulator over HTTPS: list, watch, patch, log, informers.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  Log,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
  VersionApi,
  Watch,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "./index.ts";

let sim: KubeSim;
let kc: KubeConfig;
let core: CoreV1Api;

beforeAll(async () => {
  sim = await KubeSim.start({ readyDelayMs: 30 });
  kc = new KubeConfig();
  kc.loadFromFile(sim.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
});

afterAll(async () => {
  await sim.stop();
});

describe("@kubernetes/client-node", () => {
  it("trusts the generated CA and reads the version", async () => {
    const v = await kc.makeApiClient(VersionApi).getCode();
    expect(v.gitVersion).toBe("v1.31.4+k3s1");
  });

  it("works from an in-cluster service account mount", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k8s-sim-sa-"));
    const { pathPrefix, env } = sim.writeServiceAccount(dir, "kube-system");
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    try {
      process.env.KUBERNETES_SERVICE_HOST = env.KUBERNETES_SERVICE_HOST;
      process.env.KUBERNETES_SERVICE_PORT = env.KUBERNETES_SERVICE_PORT;
      const inCluster = new KubeConfig();
      inCluster.loadFromCluster(pathPrefix);
      const nodes = await inCluster.makeApiClient(CoreV1Api).listNode();
      expect(nodes.items[0]?.metadata?.labels?.["node.kubernetes.io/instance-type"]).toBe("k3s");
      expect(inCluster.getContextObject(inCluster.getCurrentContext())?.namespace).toBe("kube-system");
    } finally {
      process.env.KUBERNETES_SERVICE_HOST = saved.host;
      process.env.KUBERNETES_SERVICE_PORT = saved.port;
      if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
      if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lists with label selectors and pagination", async () => {
    await core.createNamespace({ body: { metadata: { name: "cn" } } });
    for (let i = 0; i < 5; i++) {
      await core.createNamespacedConfigMap({
        namespace: "cn",
        body: { metadata: { name: `c${i}`, labels: { parity: i % 2 ? "odd" : "even" } }, data: { i: String(i) } },
      });
    }
    const odd = await core.listNamespacedConfigMap({ namespace: "cn", labelSelector: "parity=odd" });
    expect(odd.items.map((c) => c.metadata?.name)).toEqual(["c1", "c3"]);
    const page1 = await core.listNamespacedConfigMap({ namespace: "cn", labelSelector: "parity", limit: 3 });
    expect(page1.items).toHaveLength(3);
    const page2 = await core.listNamespacedConfigMap({
      namespace: "cn",
      labelSelector: "parity",
      limit: 3,
      _continue: page1.metadata?._continue,
    });
    expect(page2.items.map((c) => c.metadata?.name)).toEqual(["c3", "c4"]);
    expect(page2.metadata?._continue).toBeFalsy();
  });

  it("patches with merge, strategic merge, JSON patch and server-side apply", async () => {
    const merge = await core.patchNamespacedConfigMap(
      { name: "c0", namespace: "cn", body: { data: { extra: "yes" } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(merge.data).toEqual({ i: "0", extra: "yes" });
    const json = await core.patchNamespacedConfigMap({
      name: "c0",
      namespace: "cn",
      body: [{ op: "remove", path: "/data/extra" }],
    });
    expect(json.data).toEqual({ i: "0" });
    const apps = kc.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: "cn",
      body: {
        metadata: { name: "d" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "d" } },
          template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ name: "c", image: "nginx:1.27" }] } },
        },
      },
    });
    const smp = await apps.patchNamespacedDeployment(
      {
        name: "d",
        namespace: "cn",
        body: { spec: { template: { spec: { containers: [{ name: "c", env: [{ name: "A", value: "1" }] }] } } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    expect(smp.spec?.template.spec?.containers[0]?.image).toBe("nginx:1.27");
    expect(smp.spec?.template.spec?.containers[0]?.env).toEqual([{ name: "A", value: "1" }]);
    const applied = await core.patchNamespacedConfigMap(
      {
        name: "ssa",
        namespace: "cn",
        fieldManager: "camel-agent",
        force: true,
        body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ssa" }, data: { k: "v" } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    );
    expect(applied.data).toEqual({ k: "v" });
  });

  it("answers 409 to a stale replace", async () => {
    const cur = await core.readNamespacedConfigMap({ name: "c1", namespace: "cn" });
    await core.replaceNamespacedConfigMap({ name: "c1", namespace: "cn", body: { ...cur, data: { i: "one" } } });
    await expect(
      core.replaceNamespacedConfigMap({ name: "c1", namespace: "cn", body: { ...cur, data: { i: "uno" } } }),
    ).rejects.toMatchObject({ code: 409 });
  });

  it("watches from a resourceVersion", async () => {
    const list = await core.listNamespacedConfigMap({ namespace: "cn" });
    const seen: string[] = [];
    let finished: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finished = resolve;
    });
    const ctrl = await new Watch(kc).watch(
      "/api/v1/namespaces/cn/configmaps",
      { resourceVersion: list.metadata?.resourceVersion, labelSelector: "watch=me" },
      (type, obj: V1ConfigMap) => {
        seen.push(`${type}:${obj.metadata?.name}`);
        if (seen.length === 2) finished();
      },
      () => undefined,
    );
    await core.createNamespacedConfigMap({
      namespace: "cn",
      body: { metadata: { name: "w", labels: { watch: "me" } } },
    });
    await core.deleteNamespacedConfigMap({ name: "w", namespace: "cn" });
    await Promise.race([
      done,
      new Promise((_, reject) => setTimeout(() => reject(new Error("watch timed out")), 5000)),
    ]);
    ctrl.abort();
    expect(seen).toEqual(["ADDED:w", "DELETED:w"]);
  });

  it("keeps an informer in sync", async () => {
    const informer = makeInformer(kc, "/api/v1/namespaces/cn/configmaps", () =>
      core.listNamespacedConfigMap({ namespace: "cn" }),
    );
    const added = new Promise<string>((resolve) => {
      informer.on("add", (o: V1ConfigMap) => {
        if (o.metadata?.name === "late") resolve("late");
      });
    });
    await informer.start();
    expect(informer.list().length).toBeGreaterThanOrEqual(5);
    await core.createNamespacedConfigMap({ namespace: "cn", body: { metadata: { name: "late" } } });
    expect(await added).toBe("late");
    await informer.stop();
  });

  it("reads and follows pod logs", async () => {
    await core.createNamespacedPod({
      namespace: "cn",
      body: { metadata: { name: "logger" }, spec: { containers: [{ name: "app", image: "busybox:1.37" }] } },
    });
    await sim.waitFor("Pod", "cn", "logger", (p) => p.status?.phase === "Running");
    sim.writePodLog("cn", "logger", "app", "a\nb\nc\n");
    const text = await core.readNamespacedPodLog({ name: "logger", namespace: "cn", tailLines: 2 });
    expect(text).toBe("b\nc\n");
    const out = new PassThrough();
    let got = "";
    const more = new Promise<void>((resolve) => {
      out.on("data", (d: Buffer) => {
        got += d.toString();
        if (got.includes("d\n")) resolve();
      });
    });
    const ctrl = await new Log(kc).log("cn", "logger", "app", out, { follow: true, tailLines: 1 });
    sim.writePodLog("cn", "logger", "app", "d\n");
    await more;
    ctrl.abort();
    expect(got).toBe("c\nd\n");
  });
});
