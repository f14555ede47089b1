// Agent-only install: the customer installs only our agent with its minimal, namespace-scoped Role. The agent
// reports the cluster, asks SelfSubjectAccessReview before optional reads, attempts nothing it may not do, and
// turns a 403 into a clear refusal. The simulator has no RBAC, so an authorising proxy in front of it plays the
// API server's authoriser with the rules of charts/runner/templates/agent-rbac.yaml (agent-only mode).
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { clusterConfigFrom } from "../../agent/src/cluster/config.ts";
import { createKubeCluster } from "../../agent/src/cluster/kube-cluster.ts";
import type { KubeSim } from "../k8s-sim/sim.ts";
import { quietLogger, startSim } from "./harness.ts";

// verb, group/resource[/subresource], namespaced? — what the agent-only Role grants in namespace "shop"
const READ = ["get", "list", "watch"];
const rules: Array<{ verbs: string[]; resources: string[] }> = [
  { verbs: READ, resources: ["/pods", "/services", "/endpoints", "/configmaps", "/events", "/persistentvolumeclaims"] },
  { verbs: READ, resources: ["apps/deployments", "apps/statefulsets", "apps/daemonsets", "apps/replicasets"] },
  { verbs: ["get", "create", "update"], resources: ["coordination.k8s.io/leases"] },
];
const NS = "shop";

function allowed(verb: string, group: string, resource: string, namespace: string | undefined): boolean {
  if (namespace !== NS) return false;
  return rules.some((r) => r.verbs.includes(verb) && r.resources.includes(`${group}/${resource}`));
}

/** Maps a request to (verb, group, resource[/sub], namespace) the way the API server's request-info does. */
function attributes(req: IncomingMessage) {
  const url = new URL(req.url ?? "/", "http://x");
  const p = url.pathname.split("/").filter(Boolean);
  let group = "";
  let rest: string[];
  if (p[0] === "api") rest = p.slice(2);
  else if (p[0] === "apis") {
    group = p[1] ?? "";
    rest = p.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length > 2) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, sub] = rest;
  if (!resource) return undefined;
  const m = req.method ?? "GET";
  const verb =
    m === "GET"
      ? name
        ? "get"
        : url.searchParams.get("watch") === "true"
          ? "watch"
          : "list"
      : m === "POST"
        ? "create"
        : m === "PUT"
          ? "update"
          : m === "PATCH"
            ? "patch"
            : "delete";
  return { verb, group, resource: sub ? `${resource}/${sub}` : resource, namespace };
}

let sim: KubeSim;
let proxy: Server;
const forbidden: string[] = [];
let cluster: ReturnType<typeof createKubeCluster>;
let kubeconfig: string;

beforeAll(async () => {
  sim = await startSim();
  sim.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  sim.seed({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "camel-runner-orders",
      namespace: NS,
      labels: { "app.kubernetes.io/instance": "camel", "camel-ops.io/integration": "orders" },
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { "camel-ops.io/integration": "orders" } },
      template: {
        metadata: { labels: { "app.kubernetes.io/instance": "camel", "camel-ops.io/integration": "orders" } },
        spec: { containers: [{ name: "camel", image: "camel-runner:1" }] },
      },
    },
  });
  const target = new URL(sim.url);
  proxy = createServer((req, res) => {
    const a = attributes(req);
    const isReview = a?.group === "authorization.k8s.io" && a.resource === "selfsubjectaccessreviews";
    if (isReview) {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        const review = JSON.parse(body);
        const ra = review.spec?.resourceAttributes ?? {};
        const res_ = ra.subresource ? `${ra.resource}/${ra.subresource}` : ra.resource;
        const ok = allowed(ra.verb, ra.group ?? "", res_, ra.namespace);
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ ...review, status: { allowed: ok, reason: ok ? "RBAC: allowed by Role" : "" } }));
      });
      return;
    }
    // discovery and /version are open to every authenticated user, as in a real cluster
    if (a && !allowed(a.verb, a.group, a.resource, a.namespace)) {
      forbidden.push(`${a.verb} ${a.group}/${a.resource} ${a.namespace ?? "(cluster)"}`);
      res.statusCode = 403;
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          reason: "Forbidden",
          code: 403,
          message: "forbidden",
        }),
      );
      return;
    }
    const up = httpsRequest(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
        ca: sim.caPem,
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  kubeconfig = join(sim.kubeconfigPath, "..", "agent-only-kubeconfig");
  writeFileSync(
    kubeconfig,
    readFileSync(sim.kubeconfigPath, "utf8")
      .replace(/server: .*/, `server: http://127.0.0.1:${(proxy.address() as AddressInfo).port}`)
      // plain HTTP on loopback; client-node wants this flag spelled out for it
      .replace(/certificate-authority-data: .*/, "insecure-skip-tls-verify: true"),
  );
  const config = clusterConfigFrom({
    CAMEL_OPS_MODE: "agent-only",
    CAMEL_OPS_NAMESPACE: NS,
    CAMEL_OPS_RELEASE_NAME: "camel",
    CAMEL_OPS_MANAGE_RELEASE: "true", // ignored in agent-only mode
    KUBECONFIG: kubeconfig,
    CAMEL_OPS_HELM_BIN: "/nonexistent/helm",
    CAMEL_OPS_STATE_DIR: join(sim.kubeconfigPath, "..", "state"),
    CAMEL_OPS_CAMEL_ACCESS: "off",
  });
  expect(config.manageRelease).toBe(false);
  cluster = createKubeCluster({ config, logger: quietLogger });
});
afterAll(async () => {
  proxy?.close();
  await sim?.stop();
});

it("reports facts and telemetry without attempting what its Role does not grant", async () => {
  const facts = await cluster.facts();
  expect(facts).toMatchObject({ distribution: "k3s", mode: "agent-only", namespace: NS, nodeCount: 0 });
  // biome-ignore lint/suspicious/noExplicitAny: a JSON document the test walks freely
  const t = (await cluster.telemetry()) as Record<string, any>;
  expect(t.cluster.nodes).toEqual({ skipped: "no permission to list nodes" });
  expect(t.release).toEqual({ skipped: "no permission to read Helm's release secrets" });
  expect(t.workloads).toContainEqual(expect.objectContaining({ kind: "Deployment", name: "camel-runner-orders" }));
  expect(t.access).toMatchObject({ nodes: false, pods: true, logs: false, helmReleases: false, manageRelease: false });
  expect(forbidden).toEqual([]);
});

it("does not try to apply a release, and refuses Helm support actions", async () => {
  const r = await cluster.apply(
    {
      generation: 7,
      release: { id: "r", chartVersion: "1.0.0", chartDigest: "0".repeat(64), chartUrl: "http://127.0.0.1:9/x" },
      values: {},
      valuesDigest: "x",
    },
    () => {},
    AbortSignal.timeout(5_000),
  );
  expect(r).toMatchObject({ generation: 7, outcome: "failed" });
  expect(r.message).toMatch(/does not manage the release/);
  await expect(cluster.runCommand("support.helm-status", {}, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow(
    /agent-only/,
  );
  expect(forbidden).toEqual([]);
});

it("turns a 403 into a clear refusal instead of a crash", async () => {
  const w = (await cluster.runCommand("support.workloads", {}, { signal: AbortSignal.timeout(5_000) })) as {
    deployments: unknown[];
  };
  expect(w.deployments).toHaveLength(1);
  const pod = String(sim.list("Pod", NS)[0]?.metadata?.name ?? "orders-pod");
  await expect(cluster.runCommand("support.logs", { pod }, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow(
    /may not read pod logs/,
  );
});
