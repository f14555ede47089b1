// The simulator's own API semantics over real HTTP: conflicts, generateName, selectors,
// pagination, watch resumption and expiry, patches, status, finalizers, namespaces, logs, faults.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim, type Obj } from "./index.ts";

let sim: KubeSim;

beforeAll(async () => {
  sim = await KubeSim.start({ https: false, readyDelayMs: 20 });
});

afterAll(async () => {
  const bugs = sim.controllers?.errors ?? [];
  await sim.stop();
  expect(bugs).toEqual([]);
});

async function call(method: string, path: string, body?: unknown, contentType = "application/json", token?: string) {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token ?? sim.token}`,
      ...(body !== undefined ? { "content-type": contentType } : {}),
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let json: Obj | undefined;
  try {
    json = JSON.parse(text) as Obj;
  } catch {
    json = undefined;
  }
  return { status: res.status, json: json ?? {}, text };
}

/** Reads watch events until `count` arrived (or the stream ends), then closes the stream. */
async function watchEvents(path: string, count: number, after?: () => Promise<void>): Promise<Obj[]> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), 5000);
  const res = await fetch(`${sim.url}${path}`, {
    headers: { authorization: `Bearer ${sim.token}` },
    signal: ctrl.signal,
  });
  const reader = res.body!.getReader();
  const events: Obj[] = [];
  let buf = "";
  const pending = after?.();
  try {
    while (events.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += Buffer.from(value).toString("utf8");
      let i = buf.indexOf("\n");
      while (i >= 0) {
        events.push(JSON.parse(buf.slice(0, i)) as Obj);
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
      }
    }
  } finally {
    clearTimeout(timer);
    ctrl.abort();
    await pending;
  }
  return events;
}

const cm = (name: string, labels: Record<string, string> = {}, data: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, labels },
  data,
});

describe("authentication and discovery", () => {
  it("rejects a wrong token with 401 and answers /version without one", async () => {
    expect((await call("GET", "/api/v1/namespaces", undefined, undefined, "nope")).status).toBe(401);
    const v = await fetch(`${sim.url}/version`).then((r) => r.json() as Promise<Obj>);
    expect(v.gitVersion).toBe("v1.31.4+k3s1");
  });

  it("serves legacy and aggregated discovery and OpenAPI v3", async () => {
    const groups = await call("GET", "/apis");
    expect(groups.json.groups.map((g: Obj) => g.name)).toContain("apps");
    const res = await fetch(`${sim.url}/apis`, {
      headers: {
        authorization: `Bearer ${sim.token}`,
        accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
      },
    });
    expect(res.headers.get("content-type")).toContain("as=APIGroupDiscoveryList");
    const agg = (await res.json()) as Obj;
    const mon = agg.items.find((i: Obj) => i.metadata.name === "monitoring.coreos.com");
    expect(mon.versions[0].resources[0].resource).toBe("servicemonitors");
    const idx = await call("GET", "/openapi/v3");
    const appsUrl = idx.json.paths["apis/apps/v1"].serverRelativeURL as string;
    const doc = await call("GET", appsUrl);
    const patch = doc.json.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].patch;
    expect(patch["x-kubernetes-group-version-kind"]).toEqual({ group: "apps", version: "v1", kind: "Deployment" });
    expect(patch.parameters.map((p: Obj) => p.name)).toContain("fieldValidation");
  });
});

describe("storage semantics", () => {
  it("creates with generateName and answers 409 on a stale resourceVersion", async () => {
    const created = await call("POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { generateName: "gen-" },
      data: { a: "1" },
    });
    expect(created.status).toBe(201);
    const name = created.json.metadata.name as string;
    expect(name).toMatch(/^gen-[a-z0-9]{5}$/);
    const stale = created.json;
    const first = await call("PUT", `/api/v1/namespaces/default/configmaps/${name}`, { ...stale, data: { a: "2" } });
    expect(first.status).toBe(200);
    expect(Number(first.json.metadata.resourceVersion)).toBeGreaterThan(Number(stale.metadata.resourceVersion));
    const second = await call("PUT", `/api/v1/namespaces/default/configmaps/${name}`, { ...stale, data: { a: "3" } });
    expect(second.status).toBe(409);
    expect(second.json.reason).toBe("Conflict");
    const dup = await call("POST", "/api/v1/namespaces/default/configmaps", cm(name));
    expect(dup.status).toBe(409);
    expect(dup.json.reason).toBe("AlreadyExists");
    const missing = await call("GET", "/api/v1/namespaces/default/configmaps/nope");
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ kind: "Status", reason: "NotFound", code: 404 });
  });

  it("refuses objects in a namespace that does not exist", async () => {
    const r = await call("POST", "/api/v1/namespaces/ghost/configmaps", cm("x"));
    expect(r.status).toBe(404);
  });

  it("filters by label and field selectors", async () => {
    await call("POST", "/api/v1/namespaces", { metadata: { name: "sel" } });
    for (const [n, tier] of [
      ["a", "web"],
      ["b", "db"],
      ["c", "web"],
    ] as const) {
      await call("POST", "/api/v1/namespaces/sel/secrets", {
        metadata: { name: n, labels: { tier, owner: n === "c" ? "helm" : "me" } },
        type: n === "b" ? "helm.sh/release.v1" : "Opaque",
      });
    }
    const names = async (q: string) =>
      (await call("GET", `/api/v1/namespaces/sel/secrets?${q}`)).json.items.map((i: Obj) => i.metadata.name);
    expect(await names("labelSelector=tier%3Dweb")).toEqual(["a", "c"]);
    expect(await names("labelSelector=tier%3Dweb,owner%3Dhelm")).toEqual(["c"]);
    expect(await names("labelSelector=tier%20in%20(db,web),owner!%3Dhelm")).toEqual(["a", "b"]);
    expect(await names("labelSelector=!owner")).toEqual([]);
    expect(await names("fieldSelector=metadata.name%3Db")).toEqual(["b"]);
    expect(await names("fieldSelector=type%3Dhelm.sh/release.v1")).toEqual(["b"]);
    expect(await names("fieldSelector=metadata.name!%3Db")).toEqual(["a", "c"]);
  });

  it("paginates with limit and continue", async () => {
    await call("POST", "/api/v1/namespaces", { metadata: { name: "pages" } });
    for (let i = 0; i < 7; i++) await call("POST", "/api/v1/namespaces/pages/configmaps", cm(`cm-${i}`));
    const seen: string[] = [];
    let cont = "";
    let pages = 0;
    do {
      const r = await call("GET", `/api/v1/namespaces/pages/configmaps?limit=3${cont ? `&continue=${cont}` : ""}`);
      seen.push(...r.json.items.map((i: Obj) => i.metadata.name));
      cont = r.json.metadata.continue ?? "";
      pages++;
    } while (cont);
    expect(pages).toBe(3);
    expect(seen.filter((n) => n.startsWith("cm-"))).toEqual(["cm-0", "cm-1", "cm-2", "cm-3", "cm-4", "cm-5", "cm-6"]);
  });

  it("applies merge, JSON, strategic merge and server-side apply patches", async () => {
    await call("POST", "/apis/apps/v1/namespaces/default/deployments", {
      metadata: { name: "patchme" },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "p" } },
        template: {
          metadata: { labels: { app: "p" } },
          spec: {
            containers: [
              { name: "a", image: "x:1", env: [{ name: "E1", value: "1" }], ports: [{ containerPort: 80 }] },
              { name: "b", image: "y:1" },
            ],
          },
        },
      },
    });
    const path = "/apis/apps/v1/namespaces/default/deployments/patchme";
    const smp = await call(
      "PATCH",
      path,
      {
        spec: {
          template: {
            spec: {
              containers: [
                { name: "a", env: [{ name: "E2", value: "2" }], ports: [{ containerPort: 81 }] },
                { name: "b", $patch: "delete" },
              ],
            },
          },
        },
      },
      "application/strategic-merge-patch+json",
    );
    expect(smp.status).toBe(200);
    const cs = smp.json.spec.template.spec.containers;
    expect(cs.map((c: Obj) => c.name)).toEqual(["a"]);
    expect(cs[0].image).toBe("x:1");
    expect(cs[0].env.map((e: Obj) => e.name)).toEqual(["E1", "E2"]);
    expect(cs[0].ports.map((p: Obj) => p.containerPort)).toEqual([80, 81]);
    expect(smp.json.metadata.generation).toBe(2);

    const merge = await call("PATCH", path, { metadata: { labels: { m: "1" } } }, "application/merge-patch+json");
    expect(merge.json.metadata.labels).toEqual({ m: "1" });
    const json = await call(
      "PATCH",
      path,
      [
        { op: "replace", path: "/spec/replicas", value: 0 },
        { op: "add", path: "/metadata/annotations", value: { j: "1" } },
      ],
      "application/json-patch+json",
    );
    expect(json.json.metadata.annotations).toEqual({ j: "1" });

    const apply = (env: Obj[]) =>
      call(
        "PATCH",
        `${path}?fieldManager=test&force=true`,
        {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "patchme" },
          spec: { template: { spec: { containers: [{ name: "a", image: "x:2", env }] } } },
        },
        "application/apply-patch+yaml",
      );
    const a1 = await apply([{ name: "S1", value: "1" }]);
    expect(a1.json.spec.template.spec.containers[0].env.map((e: Obj) => e.name)).toEqual(["E1", "E2", "S1"]);
    const a2 = await apply([]);
    expect(a2.json.spec.template.spec.containers[0].env.map((e: Obj) => e.name)).toEqual(["E1", "E2"]);
    expect(a2.json.metadata.managedFields.some((m: Obj) => m.manager === "test" && m.operation === "Apply")).toBe(true);

    const applyNew = await call(
      "PATCH",
      "/api/v1/namespaces/default/configmaps/applied?fieldManager=test",
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  k: v\n",
      "application/apply-patch+yaml",
    );
    expect(applyNew.status).toBe(201);
    expect(applyNew.json.data).toEqual({ k: "v" });

    const crSmp = await call(
      "PATCH",
      "/apis/monitoring.coreos.com/v1/namespaces/default/servicemonitors/x",
      {},
      "application/strategic-merge-patch+json",
    );
    expect([404, 415]).toContain(crSmp.status);
  });

  it("keeps status and spec apart through the status subresource", async () => {
    const created = await call("POST", "/apis/networking.k8s.io/v1/namespaces/default/ingresses", {
      metadata: { name: "ing" },
      spec: { rules: [{ host: "a.example" }] },
      status: { loadBalancer: { ingress: [{ ip: "1.1.1.1" }] } },
    });
    expect(created.json.status).toBeUndefined();
    const path = "/apis/networking.k8s.io/v1/namespaces/default/ingresses/ing";
    const lb = { loadBalancer: { ingress: [{ ip: "10.0.0.10" }] } };
    const s = await call("PUT", `${path}/status`, { ...created.json, status: lb, spec: { rules: [] } });
    expect(s.json.status).toEqual(lb);
    expect(s.json.spec.rules).toHaveLength(1);
    expect(s.json.metadata.generation).toBe(1);
    const main = await call(
      "PATCH",
      path,
      { status: null, spec: { rules: [{ host: "b.example" }] } },
      "application/merge-patch+json",
    );
    expect(main.json.status).toEqual(lb);
    expect(main.json.metadata.generation).toBe(2);
  });

  it("holds objects with finalizers until the finalizers are removed", async () => {
    await call("POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { name: "fin", finalizers: ["example.com/hold"] },
    });
    const del = await call("DELETE", "/api/v1/namespaces/default/configmaps/fin");
    expect(del.json.metadata.deletionTimestamp).toBeTruthy();
    expect((await call("GET", "/api/v1/namespaces/default/configmaps/fin")).status).toBe(200);
    await call(
      "PATCH",
      "/api/v1/namespaces/default/configmaps/fin",
      { metadata: { finalizers: null } },
      "application/merge-patch+json",
    );
    expect((await call("GET", "/api/v1/namespaces/default/configmaps/fin")).status).toBe(404);
  });

  it("deletes a namespace's content, then the namespace", async () => {
    await call("POST", "/api/v1/namespaces", { metadata: { name: "doomed" } });
    await call("POST", "/api/v1/namespaces/doomed/configmaps", cm("one"));
    const del = await call("DELETE", "/api/v1/namespaces/doomed");
    expect(del.json.status.phase).toBe("Terminating");
    await expect
      .poll(async () => (await call("GET", "/api/v1/namespaces/doomed")).status, { timeout: 3000, interval: 20 })
      .toBe(404);
    expect(sim.list("ConfigMap", "doomed")).toEqual([]);
  });
});

describe("watch", () => {
  it("streams changes, resumes from a resourceVersion and answers 410 when too old", async () => {
    await call("POST", "/api/v1/namespaces", { metadata: { name: "w" } });
    const list = await call("GET", "/api/v1/namespaces/w/configmaps");
    const rv0 = list.json.metadata.resourceVersion as string;
    const live = await watchEvents(
      `/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=${rv0}&labelSelector=watched%3Dyes`,
      3,
      async () => {
        await call("POST", "/api/v1/namespaces/w/configmaps", cm("w1", { watched: "yes" }));
        await call("POST", "/api/v1/namespaces/w/configmaps", cm("ignored"));
        await call("PATCH", "/api/v1/namespaces/w/configmaps/w1", { data: { x: "1" } }, "application/merge-patch+json");
        await call(
          "PATCH",
          "/api/v1/namespaces/w/configmaps/w1",
          { metadata: { labels: { watched: "no" } } },
          "application/merge-patch+json",
        );
      },
    );
    expect(live.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    expect(live[1]!.object.data).toEqual({ x: "1" });

    // Resuming from the first event's resourceVersion replays only what came after it.
    const resumed = await watchEvents(
      `/api/v1/namespaces/w/configmaps?watch=1&resourceVersion=${live[0]!.object.metadata.resourceVersion}`,
      3,
    );
    expect(resumed.map((e) => `${e.type}:${e.object.metadata.name}`)).toEqual([
      "ADDED:ignored",
      "MODIFIED:w1",
      "MODIFIED:w1",
    ]);

    // Without a resourceVersion the watch starts with the current state.
    const initial = await watchEvents("/api/v1/namespaces/w/configmaps?watch=true&fieldSelector=metadata.name%3Dw1", 1);
    expect(initial[0]).toMatchObject({ type: "ADDED", object: { metadata: { name: "w1" } } });

    sim.compact();
    const gone = await watchEvents(`/api/v1/namespaces/w/configmaps?watch=true&resourceVersion=${rv0}`, 1);
    expect(gone[0]!.type).toBe("ERROR");
    expect(gone[0]!.object).toMatchObject({ kind: "Status", code: 410, reason: "Expired" });
  });

  it("prints watch events as Table rows when kubectl asks for them", async () => {
    const res = await fetch(`${sim.url}/api/v1/namespaces/w/configmaps?watch=true&fieldSelector=metadata.name%3Dw1`, {
      headers: { authorization: `Bearer ${sim.token}`, accept: "application/json;as=Table;v=v1;g=meta.k8s.io" },
      signal: AbortSignal.timeout(5000),
    });
    const reader = res.body!.getReader();
    const first = JSON.parse(
      Buffer.from((await reader.read()).value!)
        .toString()
        .split("\n")[0]!,
    ) as Obj;
    await reader.cancel();
    expect(first.object.kind).toBe("Table");
    expect(first.object.rows[0].cells[0]).toBe("w1");
  });

  it("sends initial events and a bookmark for watch-list requests", async () => {
    const n = sim.list("ConfigMap", "w").length;
    const events = await watchEvents(
      "/api/v1/namespaces/w/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan",
      n + 1,
    );
    expect(events.map((e) => e.type)).toEqual([...Array(n).fill("ADDED"), "BOOKMARK"]);
    expect(events[n]!.object.metadata.annotations["k8s.io/initial-events-end"]).toBe("true");
  });
});

describe("controllers, faults and logs", () => {
  const deployment = (name: string, replicas = 2) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "main", image: "nginx:1.27" }] } },
    },
  });

  it("rolls a Deployment out through a ReplicaSet to Ready pods", async () => {
    await call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("web"));
    const d = await sim.waitFor("Deployment", "default", "web", (o) => o.status?.availableReplicas === 2);
    expect(d.status).toMatchObject({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2 });
    const progressing = d.status.conditions.find((c: Obj) => c.type === "Progressing");
    expect(progressing.reason).toBe("NewReplicaSetAvailable");
    const pods = sim.list("Pod", "default", { labelSelector: "app=web" });
    expect(pods).toHaveLength(2);
    expect(pods.every((p) => p.status.phase === "Running" && p.spec.nodeName === "sim-node-1")).toBe(true);
  });

  it("keeps a faulted workload from becoming ready", async () => {
    sim.injectFault("Deployment", "default", "stuck", { type: "crash-loop", delayMs: 30 });
    await call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("stuck", 1));
    const first = () => sim.list("Pod", "default", { labelSelector: "app=stuck" })[0];
    await expect
      .poll(() => first()?.status?.containerStatuses?.[0]?.restartCount ?? 0, { timeout: 5000, interval: 20 })
      .toBeGreaterThanOrEqual(2);
    const pod = first()!;
    expect(pod.status.containerStatuses[0].state.waiting.reason).toBe("CrashLoopBackOff");
    expect(sim.get("Deployment", "default", "stuck")!.status.readyReplicas).toBe(0);
  });

  it("marks a rollout that misses its progress deadline", async () => {
    sim.injectFault("Deployment", "default", "late", { type: "never-ready" });
    await call("POST", "/apis/apps/v1/namespaces/default/deployments", {
      ...deployment("late", 1),
      spec: { ...deployment("late", 1).spec, progressDeadlineSeconds: 1 },
    });
    const d = await sim.waitFor(
      "Deployment",
      "default",
      "late",
      (o) => (o.status?.conditions ?? []).some((c: Obj) => c.reason === "ProgressDeadlineExceeded"),
      5000,
    );
    expect(d.status.conditions.find((c: Obj) => c.type === "Progressing").status).toBe("False");
    const pod = await sim.waitFor(
      "Pod",
      "default",
      sim.list("Pod", "default", { labelSelector: "app=late" })[0]!.metadata.name,
      (p) => p.status?.phase === "Running",
    );
    expect(pod.status.conditions.find((c: Obj) => c.type === "Ready").status).toBe("False");
    expect(sim.get("Deployment", "default", "late")!.status.readyReplicas).toBe(0);
  });

  it("serves pod logs with tailLines and follow", async () => {
    await sim.waitFor("Deployment", "default", "web", (o) => o.status?.readyReplicas === 2);
    const pod = sim.list("Pod", "default", { labelSelector: "app=web" })[0]!;
    const path = `/api/v1/namespaces/default/pods/${pod.metadata.name}/log`;
    sim.writePodLog("default", pod.metadata.name, "main", "one\ntwo\nthree\n");
    expect((await call("GET", path)).text).toBe("one\ntwo\nthree\n");
    expect((await call("GET", `${path}?tailLines=2`)).text).toBe("two\nthree\n");
    const stamped = (await call("GET", `${path}?timestamps=true&tailLines=1`)).text;
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z three\n$/);
    expect((await call("GET", `${path}?sinceTime=${new Date(Date.now() + 60_000).toISOString()}`)).text).toBe("");
    const ctrl = new AbortController();
    const res = await fetch(`${sim.url}${path}?follow=true&tailLines=1`, {
      headers: { authorization: `Bearer ${sim.token}` },
      signal: ctrl.signal,
    });
    const reader = res.body!.getReader();
    let got = Buffer.from((await reader.read()).value!).toString();
    sim.writePodLog("default", pod.metadata.name, "main", "four\n");
    while (!got.includes("four")) got += Buffer.from((await reader.read()).value!).toString();
    ctrl.abort();
    expect(got).toBe("three\nfour\n");
  });

  it("runs Jobs to completion and reflects node conditions", async () => {
    await call("POST", "/apis/batch/v1/namespaces/default/jobs", {
      metadata: { name: "once" },
      spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } },
    });
    const job = await sim.waitFor("Job", "default", "once", (o) =>
      (o.status?.conditions ?? []).some((c: Obj) => c.type === "Complete" && c.status === "True"),
    );
    expect(job.status.succeeded).toBe(1);
    sim.setNodeCondition("sim-node-1", "DiskPressure", "True");
    const node = (await call("GET", "/api/v1/nodes/sim-node-1")).json;
    expect(node.status.conditions.find((c: Obj) => c.type === "DiskPressure").status).toBe("True");
    expect(node.spec.taints).toEqual([
      expect.objectContaining({ key: "node.kubernetes.io/disk-pressure", effect: "NoSchedule" }),
    ]);
    await call("POST", "/api/v1/namespaces/default/pods", {
      metadata: { name: "blocked" },
      spec: { containers: [{ name: "c", image: "busybox" }] },
    });
    const pending = await sim.waitFor("Pod", "default", "blocked", (p) =>
      (p.status?.conditions ?? []).some((c: Obj) => c.type === "PodScheduled" && c.status === "False"),
    );
    expect(pending.spec.nodeName).toBeUndefined();
    sim.setNodeCondition("sim-node-1", "DiskPressure", "False");
    expect(sim.get("Node", undefined, "sim-node-1")!.spec.taints).toBeUndefined();
    await sim.waitFor("Pod", "default", "blocked", (p) => p.status?.phase === "Running");
  });
});

describe("controller switches", () => {
  it("leaves workloads alone when their controller is off", async () => {
    const quiet = await KubeSim.start({ https: false, controllers: { deployments: false } });
    try {
      quiet.seed({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "idle", namespace: "default" },
        spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } } } },
      });
      quiet.seed({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "solo", namespace: "default" },
        spec: { containers: [{ name: "c", image: "x" }] },
      });
      await quiet.waitFor("Pod", "default", "solo", (p) => p.status?.phase === "Running");
      expect(quiet.list("ReplicaSet", "default")).toEqual([]);
      expect(quiet.get("Deployment", "default", "idle")!.status).toBeUndefined();
    } finally {
      await quiet.stop();
    }
  });
});
