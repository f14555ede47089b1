// charts/runner: lint, render and schema-validate every profile under Helm 4 and Helm 3, then assert on the
// rendered output what the brief promises (ingress class, storage class, external database, ServiceMonitor,
// agent-only) and that wrong values fail with the schema's message.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  byKind,
  chartDir,
  cleanupHelmHome,
  find,
  HELMS,
  type HelmName,
  helm,
  type Manifest,
  repoRoot,
  template,
} from "./helm.ts";
import { KUBERNETES_VERSIONS, validateManifest } from "./k8s-validate.ts";

const chart = chartDir("runner");
const fixture = `${repoRoot}/test/charts/fixtures/integrations.yaml`;
const PROFILES: Record<string, string[]> = {
  default: [],
  appliance: ["-f", `${chart}/values-appliance.yaml`],
  native: ["-f", `${chart}/values-native.yaml`],
  "agent-only": ["-f", `${chart}/values-agent-only.yaml`],
  "appliance + integrations": ["-f", `${chart}/values-appliance.yaml`, "-f", fixture],
  "native + integrations": [
    "-f",
    `${chart}/values-native.yaml`,
    "-f",
    fixture,
    "--set",
    "externalDatabase.host=db.corp.example,externalDatabase.existingSecret=corp-db",
  ],
};
const helmNames = Object.keys(HELMS) as HelmName[];
const rendered = new Map<string, Manifest[]>();
const key = (h: string, p: string) => `${h} :: ${p}`;

beforeAll(async () => {
  await Promise.all(
    helmNames.flatMap((h) =>
      Object.entries(PROFILES).map(async ([p, args]) => {
        rendered.set(key(h, p), await template(h, "runner", args));
      }),
    ),
  );
});
afterAll(() => cleanupHelmHome());

const get = (h: string, p: string): Manifest[] => {
  const r = rendered.get(key(h, p));
  if (!r) throw new Error(`not rendered: ${key(h, p)}`);
  return r;
};
const component = (m: Manifest) => m.metadata.labels?.["app.kubernetes.io/component"];
// biome-ignore lint/suspicious/noExplicitAny: pod specs are free-form
const podSpecs = (ms: Manifest[]): Array<{ owner: Manifest; spec: any }> =>
  ms.flatMap((m) => {
    if (m.kind === "Pod") return [{ owner: m, spec: m.spec }];
    if (["Deployment", "StatefulSet", "DaemonSet"].includes(m.kind)) return [{ owner: m, spec: m.spec.template.spec }];
    return [];
  });
const envOf = (d: Manifest, container = 0): Record<string, unknown> =>
  Object.fromEntries(
    (
      d.spec.template.spec.containers[container].env as Array<{ name: string; value?: string; valueFrom?: unknown }>
    ).map((e) => [e.name, e.value ?? e.valueFrom]),
  );

describe.each(helmNames)("runner chart with %s", (h) => {
  it.each(Object.keys(PROFILES))("helm lint --strict passes for profile %s", async (p) => {
    const r = await helm(HELMS[h], ["lint", "--strict", chart, ...(PROFILES[p] ?? [])]);
    expect(r.stderr + r.stdout).toContain("0 chart(s) failed");
    expect(r.code).toBe(0);
  });

  it.each(Object.keys(PROFILES))(
    "every manifest of profile %s validates against each supported Kubernetes version",
    (p) => {
      const ms = get(h, p);
      expect(ms.length).toBeGreaterThan(3);
      const failures: string[] = [];
      for (const v of KUBERNETES_VERSIONS) {
        for (const m of ms) {
          const r = validateManifest(m, v);
          if (r.status === "invalid") failures.push(`${v} ${r.resource}: ${r.errors.join("; ")}`);
        }
      }
      expect(failures).toEqual([]);
    },
  );

  it("uses no Bitnami image and pins every image", () => {
    for (const p of Object.keys(PROFILES)) {
      for (const { spec } of podSpecs(get(h, p))) {
        for (const c of spec.containers) {
          expect(c.image).not.toMatch(/bitnami/i);
          expect(c.image).toMatch(/:[^:/]+$|@sha256:/);
          expect(c.image).not.toMatch(/:latest$/);
        }
      }
    }
  });

  it("renders each integration as ConfigMap, Deployment, Service (+ Ingress) with checksum, probes and metrics", () => {
    const ms = get(h, "appliance + integrations");
    const cm = find(ms, "ConfigMap", "rel-runner-orders");
    expect(cm?.data["orders.camel.yaml"]).toContain("platform-http:/orders");
    expect(cm?.data["application.properties"]).toContain("camel.main.name = orders");
    expect(cm?.data["application.properties"]).toContain("orders.batch-size = 50");
    const d = find(ms, "Deployment", "rel-runner-orders");
    expect(d).toBeDefined();
    if (!d) return;
    expect(d.spec.replicas).toBe(2);
    const pod = d.spec.template;
    expect(pod.metadata.annotations["checksum/routes"]).toMatch(/^[a-f0-9]{64}$/);
    expect(pod.metadata.annotations["prometheus.io/path"]).toBe("/observe/metrics");
    expect(pod.metadata.annotations["prometheus.io/port"]).toBe("9876");
    const c = pod.spec.containers[0];
    expect(c.image).toBe("ghcr.io/camel-ops/camel-runner:4.14.0-0.1.0");
    expect(c.livenessProbe.httpGet).toEqual({ path: "/observe/health/live", port: "management" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/observe/health/ready", port: "management" });
    expect(c.ports).toContainEqual({ name: "management", containerPort: 9876, protocol: "TCP" });
    expect(c.envFrom).toEqual([
      { secretRef: { name: "orders-credentials" } },
      { secretRef: { name: "orders-extra", optional: true } },
    ]);
    expect(c.resources.limits.memory).toBe("1Gi");
    expect(envOf(d).ORDERS_MODE).toBe("strict");
    expect(pod.spec.volumes.find((v: { name: string }) => v.name === "routes").configMap.items).toEqual([
      { key: "orders.camel.yaml", path: "orders.camel.yaml" },
    ]);
    const svc = find(ms, "Service", "rel-runner-orders");
    expect(svc?.spec.ports.map((p: { port: number }) => p.port)).toEqual([8080, 9876]);
    const ing = find(ms, "Ingress", "rel-runner-orders");
    expect(ing?.spec.rules[0].host).toBe("orders.example.com");
    expect(ing?.spec.tls[0].secretName).toBe("orders-tls");
    expect(find(ms, "Ingress", "rel-runner-ticker")).toBeUndefined();
    const ticker = find(ms, "Deployment", "rel-runner-ticker");
    expect(ticker?.spec.template.spec.containers[0].image).toBe("registry.acme.example/acme/ticker-quarkus:1.2.3");
    expect(ticker?.spec.strategy.type).toBe("Recreate");
    expect(Object.keys(find(ms, "ConfigMap", "rel-runner-ticker")?.data).sort()).toEqual([
      "application.properties",
      "helpers.camel.yaml",
      "ticker.camel.yaml",
    ]);
  });

  it("rolls an integration's pods when its routes change, and only then", async () => {
    const a = await template(h, "runner", ["-f", fixture]);
    const b = await template(h, "runner", ["-f", fixture, "--set", "integrations[1].replicas=3"]);
    const c = await template(h, "runner", [
      "-f",
      fixture,
      "--set-string",
      "integrations[0].routes.orders\\.camel\\.yaml=- from: {uri: 'timer:x'}",
    ]);
    const sum = (ms: Manifest[], n: string) =>
      find(ms, "Deployment", n)?.spec.template.metadata.annotations["checksum/routes"];
    expect(sum(a, "rel-runner-orders")).toBe(sum(b, "rel-runner-orders"));
    expect(sum(a, "rel-runner-orders")).not.toBe(sum(c, "rel-runner-orders"));
    expect(sum(a, "rel-runner-ticker")).toBe(sum(c, "rel-runner-ticker"));
  });

  it("swaps the ingress class (nginx) on every Ingress; traefik by default", async () => {
    const def = byKind(get(h, "appliance + integrations"), "Ingress");
    expect(def.length).toBe(2); // orders + console
    for (const i of def) expect(i.spec.ingressClassName).toBe("traefik");
    const ms = await template(h, "runner", ["-f", fixture, "--set", "ingress.className=nginx"]);
    const ings = byKind(ms, "Ingress");
    expect(ings.length).toBe(2);
    for (const i of ings) expect(i.spec.ingressClassName).toBe("nginx");
    const own = await template(h, "runner", ["-f", fixture, "--set", "console.ingress.className=alb"]);
    expect(find(own, "Ingress", "rel-runner-console")?.spec.ingressClassName).toBe("alb");
    expect(find(own, "Ingress", "rel-runner-orders")?.spec.ingressClassName).toBe("traefik");
  });

  it("uses a custom storageClassName for every volume; local-path on the appliance, cluster default natively", async () => {
    const claims = (ms: Manifest[]) =>
      byKind(ms, "StatefulSet").flatMap(
        (s) => s.spec.volumeClaimTemplates as Array<{ spec: { storageClassName?: string } }>,
      );
    const appliance = claims(get(h, "appliance"));
    expect(appliance.length).toBe(3); // VictoriaMetrics, VictoriaLogs, PostgreSQL
    for (const c of appliance) expect(c.spec.storageClassName).toBe("local-path");
    for (const c of claims(get(h, "native"))) expect(c.spec.storageClassName).toBeUndefined();
    const custom = await template(h, "runner", [
      "-f",
      `${chart}/values-native.yaml`,
      "--set",
      "global.defaultStorageClass=ebs-gp3,victorialogs.persistence.storageClass=portworx-sc",
    ]);
    const sts = byKind(custom, "StatefulSet");
    expect(
      find(custom, "StatefulSet", "rel-runner-victoriametrics")?.spec.volumeClaimTemplates[0].spec.storageClassName,
    ).toBe("ebs-gp3");
    expect(
      find(custom, "StatefulSet", "rel-runner-victorialogs")?.spec.volumeClaimTemplates[0].spec.storageClassName,
    ).toBe("portworx-sc");
    expect(sts.length).toBe(2);
  });

  it("uses an external database and renders no in-cluster database", () => {
    const ms = get(h, "native + integrations");
    expect(find(ms, "StatefulSet", "rel-runner-postgresql")).toBeUndefined();
    expect(byKind(ms, "StatefulSet").some((s) => s.metadata.name.includes("postgres"))).toBe(false);
    expect(find(ms, "Service", "rel-runner-postgresql")).toBeUndefined();
    const env = envOf(find(ms, "Deployment", "rel-runner-orders") as Manifest);
    expect(env.DB_HOST).toBe("db.corp.example");
    expect(env.DB_PORT).toBe("5432");
    expect(env.DB_PASSWORD).toEqual({ secretKeyRef: { name: "corp-db", key: "password" } });
    expect(env.JDBC_URL).toBe("jdbc:postgresql://db.corp.example:5432/camel");
    // the ticker did not ask for a database
    expect(envOf(find(ms, "Deployment", "rel-runner-ticker") as Manifest).DB_HOST).toBeUndefined();
  });

  it("disables the in-cluster database automatically when externalDatabase.host is set", async () => {
    const inCluster = get(h, "appliance + integrations");
    const pg = find(inCluster, "StatefulSet", "rel-runner-postgresql");
    expect(pg?.spec.template.spec.containers[0].image).toBe("docker.io/library/postgres:17.6");
    expect(envOf(find(inCluster, "Deployment", "rel-runner-orders") as Manifest).DB_HOST).toBe("rel-runner-postgresql");
    const ext = await template(h, "runner", [
      "-f",
      `${chart}/values-appliance.yaml`,
      "-f",
      fixture,
      "--set",
      "externalDatabase.host=pg.example,externalDatabase.password=s3cret",
    ]);
    expect(find(ext, "StatefulSet", "rel-runner-postgresql")).toBeUndefined();
    expect(find(ext, "Secret", "rel-runner-postgresql")).toBeUndefined();
    expect(Buffer.from(find(ext, "Secret", "rel-runner-database")?.data.password, "base64").toString()).toBe("s3cret");
  });

  it("emits ServiceMonitors for the integrations and the agent when metrics.serviceMonitor.enabled", async () => {
    expect(byKind(get(h, "appliance + integrations"), "ServiceMonitor")).toEqual([]);
    const ms = await template(h, "runner", [
      "-f",
      fixture,
      "--set",
      "metrics.serviceMonitor.enabled=true,metrics.serviceMonitor.labels.release=kube-prometheus-stack",
    ]);
    const sms = byKind(ms, "ServiceMonitor");
    expect(sms.map((s) => s.metadata.name).sort()).toEqual([
      "rel-runner-agent-metrics",
      "rel-runner-integration-metrics",
    ]);
    const integ = find(ms, "ServiceMonitor", "rel-runner-integration-metrics");
    expect(integ?.apiVersion).toBe("monitoring.coreos.com/v1");
    expect(integ?.metadata.labels?.release).toBe("kube-prometheus-stack");
    expect(integ?.spec.endpoints[0]).toMatchObject({ port: "management", path: "/observe/metrics" });
    expect(integ?.spec.selector.matchLabels["app.kubernetes.io/component"]).toBe("integration");
    // the selector matches the integrations' Services
    const svc = find(ms, "Service", "rel-runner-orders");
    for (const [k, v] of Object.entries(integ?.spec.selector.matchLabels as Record<string, string>)) {
      expect(svc?.metadata.labels?.[k]).toBe(v);
    }
  });

  it("agent-only profile renders only the agent", () => {
    const ms = get(h, "agent-only");
    const comps = new Set(ms.map(component));
    expect([...comps].sort()).toEqual(["agent", "console", "test"]);
    expect(byKind(ms, "Deployment").map((d) => d.metadata.name)).toEqual(["rel-runner-agent"]);
    for (const k of ["StatefulSet", "DaemonSet", "Ingress", "ClusterRole", "ClusterRoleBinding", "ServiceMonitor"]) {
      expect(byKind(ms, k)).toEqual([]);
    }
    expect(byKind(ms, "Role").map((r) => r.metadata.name)).toEqual(["rel-runner-agent"]);
    expect(envOf(byKind(ms, "Deployment")[0] as Manifest).CAMEL_OPS_MODE).toBe("agent-only");
    expect(envOf(byKind(ms, "Deployment")[0] as Manifest).CAMEL_OPS_MANAGE_RELEASE).toBe("false");
    expect(byKind(ms, "Pod").map((p) => p.metadata.name)).toEqual(["rel-runner-test-agent-link"]);
  });

  it("gives the agent namespace-scoped RBAC with the Lease; cluster reads only on request", async () => {
    const ms = get(h, "default");
    expect(byKind(ms, "ClusterRole")).toEqual([]);
    expect(byKind(ms, "ClusterRoleBinding")).toEqual([]);
    const role = find(ms, "Role", "rel-runner-agent");
    expect(role?.spec).toBeUndefined();
    const rules = role?.rules as Array<{
      apiGroups: string[];
      resources: string[];
      verbs: string[];
      resourceNames?: string[];
    }>;
    expect(rules).toContainEqual({
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      verbs: ["get", "create", "update"],
    });
    // its key Secret: created by the agent itself, every other verb limited to that name, no list/watch of secrets
    const secretRules = rules.filter((r) => r.resources.includes("secrets"));
    expect(secretRules).toEqual([
      { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: ["rel-runner-agent-key"],
        verbs: ["get", "update", "patch", "delete"],
      },
    ]);
    expect(find(ms, "Secret", "rel-runner-agent-key")).toBeUndefined();
    expect(find(ms, "Role", "rel-runner-agent-release")).toBeDefined();
    const nodesOnly = byKind(get(h, "appliance"), "ClusterRole");
    expect(nodesOnly.length).toBe(1);
    const nodeRules = (nodesOnly[0]?.rules ?? []) as Array<{ resources: string[] }>;
    expect(nodeRules.flatMap((r) => r.resources)).toContain("nodes");
    expect(nodeRules.flatMap((r) => r.resources)).not.toContain("pods");
    const wide = await template(h, "runner", ["--set", "agent.rbac.clusterRead=true"]);
    const cr = byKind(wide, "ClusterRole")[0];
    expect(((cr?.rules ?? []) as Array<{ resources: string[] }>).flatMap((r) => r.resources)).toEqual(
      expect.arrayContaining(["nodes", "namespaces", "pods"]),
    );
    expect(byKind(wide, "ClusterRoleBinding")[0]?.subjects).toEqual([
      { kind: "ServiceAccount", name: "rel-runner-agent", namespace: "camel" },
    ]);
  });

  it("passes the cloud URL, license, proxy and CA bundle to the agent", () => {
    const ms = get(h, "appliance + integrations");
    const d = find(ms, "Deployment", "rel-runner-agent") as Manifest;
    const env = envOf(d);
    expect(env.CAMEL_OPS_CLOUD_URL).toBe("https://cloud.example.com");
    expect(env.CAMEL_OPS_LICENSE_TOKEN).toEqual({
      secretKeyRef: { name: "rel-runner-agent", key: "license-token", optional: true },
    });
    expect(env.HTTPS_PROXY).toBe("http://proxy.corp:3128");
    expect(String(env.NO_PROXY).split(",")).toEqual(
      expect.arrayContaining([".corp", ".svc", "127.0.0.1", "localhost"]),
    );
    expect(env.NODE_EXTRA_CA_CERTS).toBe("/etc/camel-ops/ca/ca.crt");
    expect(env.CAMEL_OPS_CONSOLE_PORT).toBe("8081");
    expect(env.CAMEL_OPS_KEY_SECRET).toBe("rel-runner-agent-key");
    expect(env.CAMEL_OPS_HELM_TIMEOUT_SECONDS).toBe("300");
    expect(env.CAMEL_OPS_SUPPORT_HTTP_ALLOW).toBe("rel-runner-victoriametrics:8428,rel-runner-victorialogs:9428");
    expect(env.CAMEL_OPS_METRICS_URL).toBe("http://rel-runner-victoriametrics.camel.svc:8428");
    expect(find(ms, "ConfigMap", "rel-runner-ca-bundle")?.data["ca.crt"]).toContain("BEGIN CERTIFICATE");
    const secret = find(ms, "Secret", "rel-runner-agent");
    expect(Buffer.from(secret?.data["license-token"], "base64").toString()).toBe("eyJhbGciOiJFZERTQSJ9.e30.c2ln");
    const c = d.spec.template.spec.containers[0];
    expect(c.readinessProbe.httpGet.path).toBe("/readyz");
    expect(c.livenessProbe.httpGet.path).toBe("/healthz");
    expect(c.ports.map((p: { containerPort: number }) => p.containerPort)).toEqual([8080, 8081]);
  });

  it("trims the license token passed as a file (install.sh uses --set-file)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "license-"));
    writeFileSync(join(dir, "license.jwt"), "eyJ0.e30.sig\n");
    try {
      const ms = await template(h, "runner", ["--set-file", `agent.licenseToken=${join(dir, "license.jwt")}`]);
      const s = find(ms, "Secret", "rel-runner-agent");
      expect(Buffer.from(s?.data["license-token"], "base64").toString()).toBe("eyJ0.e30.sig");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("uses an existing Secret for the license when given, and renders none of its own", async () => {
    const ms = await template(h, "runner", [
      "--set",
      "agent.existingSecret=corp-license,agent.existingSecretLicenseKey=token",
    ]);
    expect(find(ms, "Secret", "rel-runner-agent")).toBeUndefined();
    const env = envOf(find(ms, "Deployment", "rel-runner-agent") as Manifest);
    expect(env.CAMEL_OPS_LICENSE_TOKEN).toEqual({
      secretKeyRef: { name: "corp-license", key: "token", optional: true },
    });
  });

  it("generates the console admin password and routes the console ingress to the agent's console port", () => {
    const ms = get(h, "appliance");
    const s = find(ms, "Secret", "rel-runner-console");
    expect(Buffer.from(s?.data.username, "base64").toString()).toBe("admin");
    expect(Buffer.from(s?.data.password, "base64").toString()).toMatch(/^[A-Za-z0-9]{24}$/);
    const ing = find(ms, "Ingress", "rel-runner-console");
    expect(ing?.spec.rules[0].http.paths[0].backend.service).toEqual({
      name: "rel-runner-agent",
      port: { name: "console" },
    });
  });

  it("runs every pod restricted (non-root, no privilege escalation, read-only root), except the log tailer", () => {
    for (const { owner, spec } of podSpecs(get(h, "appliance + integrations"))) {
      for (const c of spec.containers) {
        expect(c.securityContext.allowPrivilegeEscalation, owner.metadata.name).toBe(false);
        expect(c.securityContext.readOnlyRootFilesystem, owner.metadata.name).toBe(true);
        expect(c.securityContext.capabilities.drop, owner.metadata.name).toEqual(["ALL"]);
      }
      if (owner.kind === "DaemonSet") continue; // reads /var/log/pods as root (documented)
      expect(spec.securityContext.runAsNonRoot, owner.metadata.name).toBe(true);
      expect(spec.securityContext.seccompProfile.type).toBe("RuntimeDefault");
    }
  });

  it("wires the observability stack: VictoriaMetrics scrapes the integrations, the collector forwards to both stores", () => {
    const ms = get(h, "appliance + integrations");
    const scrape = find(ms, "ConfigMap", "rel-runner-victoriametrics")?.data["scrape.yaml"] as string;
    expect(scrape).toContain("metrics_path: /observe/metrics");
    expect(scrape).toContain('names: ["camel"]');
    const otel = find(ms, "ConfigMap", "rel-runner-otel-collector")?.data["config.yaml"] as string;
    expect(otel).toContain("http://rel-runner-victoriametrics.camel.svc:8428/opentelemetry/v1/metrics");
    expect(otel).toContain("http://rel-runner-victorialogs.camel.svc:9428/insert/opentelemetry/v1/logs");
    expect(byKind(ms, "DaemonSet").map((d) => d.metadata.name)).toEqual(["rel-runner-otel-collector"]);
    const env = envOf(find(ms, "Deployment", "rel-runner-orders") as Manifest);
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe("http://rel-runner-otel-collector.camel.svc:4318");
  });

  it("has helm test hooks for integration readiness and the agent's link", () => {
    const pods = byKind(get(h, "appliance + integrations"), "Pod");
    expect(pods.map((p) => p.metadata.name).sort()).toEqual([
      "rel-runner-test-agent-link",
      "rel-runner-test-integrations",
    ]);
    for (const p of pods) expect(p.metadata.annotations?.["helm.sh/hook"]).toBe("test");
    const integ = find(pods, "Pod", "rel-runner-test-integrations");
    expect(integ?.spec.containers[0].args[0]).toContain("rel-runner-orders rel-runner-ticker");
    expect(integ?.spec.containers[0].args[0]).toContain(":9876/observe/health/ready");
    expect(find(pods, "Pod", "rel-runner-test-agent-link")?.spec.containers[0].args[0]).toContain("/linkz");
  });

  it("fails on a typo with the schema's message naming the key", async () => {
    const typo = await helm(HELMS[h], [
      "template",
      "rel",
      chart,
      "-f",
      fixture,
      "--set",
      "integrations[0].iamge.tag=2",
    ]);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/schema/i);
    expect(typo.stderr).toContain("iamge");
    const top = await helm(HELMS[h], ["template", "rel", chart, "--set", "victoriametrix.enabled=false"]);
    expect(top.code).not.toBe(0);
    expect(top.stderr).toContain("victoriametrix");
  });

  it("fails on a wrong type with the schema's message naming the field", async () => {
    const r = await helm(HELMS[h], ["template", "rel", chart, "--set-string", "agent.replicas=two"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/agent[./]replicas/);
    expect(r.stderr).toMatch(/integer/);
    const en = await helm(HELMS[h], ["template", "rel", chart, "--set", "mode=cloud"]);
    expect(en.code).not.toBe(0);
    expect(en.stderr).toContain("mode");
    const name = await helm(HELMS[h], [
      "template",
      "rel",
      chart,
      "--set",
      "integrations[0].name=Bad_Name,integrations[0].routes.a\\.yaml=x",
    ]);
    expect(name.code).not.toBe(0);
    expect(name.stderr).toMatch(/integrations[./]0[./]name/);
  });

  it("accepts a parent chart's global values", async () => {
    const ms = await template(h, "runner", [
      "--set",
      "global.imageRegistry=mirror.corp,global.imagePullSecrets[0].name=regcred,global.someParentKey=x",
    ]);
    const agent = find(ms, "Deployment", "rel-runner-agent");
    expect(agent?.spec.template.spec.containers[0].image).toBe("mirror.corp/camel-ops/agent:0.1.0");
    expect(agent?.spec.template.spec.imagePullSecrets).toEqual([{ name: "regcred" }]);
  });

  it("requires a password source for an external database", async () => {
    const r = await helm(HELMS[h], ["template", "rel", chart, "--set", "externalDatabase.host=db.corp"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("externalDatabase.existingSecret");
  });
});
