// The real kubectl against the simulator over HTTPS: get, describe, apply, delete, logs and
// rollout status.

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "./index.ts";

const KUBECTL = "/usr/bin/kubectl";

describe.skipIf(!existsSync(KUBECTL))("kubectl", () => {
  let sim: KubeSim;
  let dir: string;
  let kubectl: (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

  beforeAll(async () => {
    sim = await KubeSim.start({ readyDelayMs: 50 });
    dir = mkdtempSync(join(tmpdir(), "k8s-sim-kubectl-"));
    const env = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: sim.kubeconfigPath };
    kubectl = (...args) =>
      new Promise((done) => {
        execFile(KUBECTL, args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
          done({
            code: err ? (typeof err.code === "number" ? err.code : 1) : 0,
            stdout: String(stdout),
            stderr: String(stderr),
          });
        });
      });
  });

  afterAll(async () => {
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const manifest = (image: string, env: string) => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: main
        image: ${image}
        env: [{name: MODE, value: "${env}"}]
        ports: [{containerPort: 8080, name: http}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: default
data: {level: info}
`;

  it("gets nodes and namespaces with server-side printing", async () => {
    const nodes = await kubectl("get", "nodes");
    expect(nodes.code, nodes.stderr).toBe(0);
    expect(nodes.stdout).toMatch(/sim-node-1\s+Ready/);
    const ns = await kubectl("get", "ns", "-o", "name");
    expect(ns.stdout).toContain("namespace/kube-system");
    const version = await kubectl("version", "-o", "json");
    expect(JSON.parse(version.stdout).serverVersion.gitVersion).toBe("v1.31.4+k3s1");
  });

  it("applies manifests (create, then a strategic merge reconfigure) and waits for the rollout", async () => {
    const file = join(dir, "app.yaml");
    writeFileSync(file, manifest("nginx:1.27", "a"));
    const first = await kubectl("apply", "-f", file);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("deployment.apps/web created");
    const rollout = await kubectl("rollout", "status", "deployment/web", "--timeout=20s");
    expect(rollout.code, rollout.stderr).toBe(0);
    expect(rollout.stdout).toContain('deployment "web" successfully rolled out');

    writeFileSync(file, manifest("nginx:1.28", "b"));
    const second = await kubectl("apply", "-f", file);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain("deployment.apps/web configured");
    expect(second.stdout).toContain("configmap/settings unchanged");
    const again = await kubectl("rollout", "status", "deployment/web", "--timeout=20s");
    expect(again.code, again.stderr).toBe(0);
    const env = await kubectl(
      "get",
      "deploy",
      "web",
      "-o",
      "jsonpath={.spec.template.spec.containers[0].env[*].value}",
    );
    expect(env.stdout).toBe("b");
    const get = await kubectl("get", "deploy", "web");
    expect(get.stdout).toMatch(/web\s+2\/2\s+2\s+2/);
    const pods = await kubectl("get", "pods", "-l", "app=web", "--no-headers");
    expect(pods.stdout.trim().split("\n")).toHaveLength(2);
    expect(pods.stdout).toMatch(/1\/1\s+Running/);
    const ep = await kubectl("get", "endpoints", "web", "-o", "jsonpath={.subsets[0].ports[0].port}");
    expect(ep.stdout).toBe("8080");
  });

  it("describes a deployment and a pod", async () => {
    const d = await kubectl("describe", "deployment", "web");
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available/);
    expect(d.stdout).toMatch(/NewReplicaSet:\s+web-/);
    const pod = sim.list("Pod", "default", { labelSelector: "app=web" })[0]!;
    const p = await kubectl("describe", "pod", pod.metadata.name);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/Status:\s+Running/);
    expect(p.stdout).toMatch(/Node:\s+sim-node-1/);
  });

  it("shows logs, with --tail and for a deployment", async () => {
    const pods = sim.list("Pod", "default", { labelSelector: "app=web" });
    for (const p of pods) sim.writePodLog("default", p.metadata.name, "main", "started\nlistening on 8080\n");
    const name = pods[0]!.metadata.name;
    const all = await kubectl("logs", name);
    expect(all.stdout).toBe("started\nlistening on 8080\n");
    const last = await kubectl("logs", name, "--tail=1");
    expect(last.stdout).toBe("listening on 8080\n");
    const viaDeploy = await kubectl("logs", "deployment/web", "-c", "main");
    expect(viaDeploy.stdout).toContain("listening on 8080");
  });

  it("follows rollout status of a StatefulSet and a DaemonSet", async () => {
    const file = join(dir, "sets.yaml");
    writeFileSync(
      file,
      `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: default}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:17"}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: "busybox:1.37"}]}
`,
    );
    expect((await kubectl("apply", "-f", file)).code).toBe(0);
    const sts = await kubectl("rollout", "status", "statefulset/db", "--timeout=20s");
    expect(sts.code, sts.stderr).toBe(0);
    expect(sts.stdout).toContain("partitioned roll out complete");
    const ds = await kubectl("rollout", "status", "daemonset/agent", "--timeout=20s");
    expect(ds.code, ds.stderr).toBe(0);
    expect(ds.stdout).toContain('daemon set "agent" successfully rolled out');
  });

  it("times out rollout status when a fault keeps pods from becoming ready", async () => {
    sim.injectFault("Deployment", "default", "web", { type: "image-pull" });
    const set = await kubectl("set", "image", "deployment/web", "main=nginx:9.9");
    expect(set.code, set.stderr).toBe(0);
    const r = await kubectl("rollout", "status", "deployment/web", "--timeout=2s");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/timed out/);
    const pods = await kubectl("get", "pods", "-l", "app=web");
    expect(pods.stdout).toMatch(/ErrImagePull|ImagePullBackOff/);
    sim.clearFault("Deployment", "default", "web");
  });

  it("deletes objects and waits for them to go", async () => {
    const r = await kubectl("delete", "deployment/web", "service/web", "configmap/settings", "--timeout=20s");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('deployment.apps "web" deleted');
    expect(sim.list("Pod", "default", { labelSelector: "app=web" })).toEqual([]);
    expect(sim.list("ReplicaSet", "default", { labelSelector: "app=web" })).toEqual([]);
    const gone = await kubectl("get", "configmap", "settings");
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('configmaps "settings" not found');
  });

  it("creates a CRD and then objects of the new kind", async () => {
    const file = join(dir, "crd.yaml");
    writeFileSync(
      file,
      `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`,
    );
    expect((await kubectl("apply", "-f", file)).code).toBe(0);
    const cr = join(dir, "cr.yaml");
    writeFileSync(
      cr,
      "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1, namespace: default}\nspec: {size: 3}\n",
    );
    const applied = await kubectl("apply", "-f", cr);
    expect(applied.code, applied.stderr).toBe(0);
    writeFileSync(
      cr,
      "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1, namespace: default}\nspec: {size: 4}\n",
    );
    const reapplied = await kubectl("apply", "-f", cr);
    expect(reapplied.code, reapplied.stderr).toBe(0);
    const got = await kubectl("get", "wd", "w1", "-o", "jsonpath={.spec.size}");
    expect(got.stdout).toBe("4");
  });
});
