// charts/cloud: lint, render and schema-validate under Helm 4 and Helm 3; the control plane's contract
// (port 3000, /healthz /readyz /metrics, env from Secrets, HPA, PDB, WebSocket-aware ingress, ServiceMonitor).
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
  template,
} from "./helm.ts";
import { KUBERNETES_VERSIONS, validateManifest } from "./k8s-validate.ts";

const chart = chartDir("cloud");
const BASE = ["--set", "database.existingSecret=cloud-db"];
const FULL = [
  ...BASE,
  "--set",
  "ingress.enabled=true,ingress.hosts[0].host=cloud.acme.example,metrics.serviceMonitor.enabled=true,ingress.tls[0].secretName=cloud-tls",
];
const helmNames = Object.keys(HELMS) as HelmName[];
const rendered = new Map<string, Manifest[]>();

beforeAll(async () => {
  await Promise.all(
    helmNames.map(async (h) => {
      rendered.set(h, await template(h, "cloud", FULL));
    }),
  );
});
afterAll(() => cleanupHelmHome());

const envOf = (d: Manifest): Record<string, unknown> =>
  Object.fromEntries(
    (d.spec.template.spec.containers[0].env as Array<{ name: string; value?: string; valueFrom?: unknown }>).map(
      (e) => [e.name, e.value ?? e.valueFrom],
    ),
  );

describe.each(helmNames)("cloud chart with %s", (h) => {
  const ms = () => rendered.get(h) as Manifest[];

  it("helm lint --strict passes", async () => {
    for (const args of [BASE, FULL]) {
      const r = await helm(HELMS[h], ["lint", "--strict", chart, ...args]);
      expect(r.stderr + r.stdout).toContain("0 chart(s) failed");
      expect(r.code).toBe(0);
    }
  });

  it("every manifest validates against each supported Kubernetes version", () => {
    const failures: string[] = [];
    for (const v of KUBERNETES_VERSIONS) {
      for (const m of ms()) {
        const r = validateManifest(m, v);
        if (r.status === "invalid") failures.push(`${v} ${r.resource}: ${r.errors.join("; ")}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("runs the control plane on port 3000 with its probes and config from Secrets", () => {
    const d = find(ms(), "Deployment", "rel-cloud") as Manifest;
    expect(d.spec.replicas).toBeUndefined(); // the HPA owns replicas
    const c = d.spec.template.spec.containers[0];
    expect(c.image).toBe("ghcr.io/camel-ops/cloud:0.1.0");
    expect(c.ports).toEqual([{ name: "http", containerPort: 3000, protocol: "TCP" }]);
    expect(c.readinessProbe.httpGet.path).toBe("/readyz");
    expect(c.livenessProbe.httpGet.path).toBe("/healthz");
    expect(c.startupProbe.httpGet.path).toBe("/healthz");
    const env = envOf(d);
    expect(env.PORT).toBe("3000");
    expect(env.ROLES).toBe("api,gateway,scheduler");
    expect(env.LOG_LEVEL).toBe("info");
    expect(env.PUBLIC_URL).toBe("https://cloud.example.com");
    expect(env.DATABASE_URL).toEqual({ secretKeyRef: { name: "cloud-db", key: "DATABASE_URL" } });
    expect(env.KEY_ENCRYPTION_KEY).toEqual({
      secretKeyRef: { name: "rel-cloud-key-encryption", key: "KEY_ENCRYPTION_KEY" },
    });
    expect(find(ms(), "Secret", "rel-cloud-database")).toBeUndefined();
    const kek = find(ms(), "Secret", "rel-cloud-key-encryption");
    expect(Buffer.from(Buffer.from(kek?.data.KEY_ENCRYPTION_KEY, "base64").toString(), "base64").length).toBe(32);
    expect(kek?.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");
    expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it("scales with an HPA and keeps one replica through disruptions", () => {
    const hpa = find(ms(), "HorizontalPodAutoscaler", "rel-cloud");
    expect(hpa?.apiVersion).toBe("autoscaling/v2");
    expect(hpa?.spec).toMatchObject({ minReplicas: 2, maxReplicas: 10 });
    expect(find(ms(), "PodDisruptionBudget", "rel-cloud")?.spec.minAvailable).toBe(1);
  });

  it("sets WebSocket timeouts on the ingress for nginx and traefik", async () => {
    const ing = find(ms(), "Ingress", "rel-cloud");
    expect(ing?.spec.ingressClassName).toBe("nginx");
    expect(ing?.metadata.annotations?.["nginx.ingress.kubernetes.io/proxy-read-timeout"]).toBe("3600");
    expect(ing?.metadata.annotations?.["nginx.ingress.kubernetes.io/proxy-send-timeout"]).toBe("3600");
    expect(ing?.spec.rules[0].host).toBe("cloud.acme.example");
    expect(byKind(ms(), "ServersTransport")).toEqual([]);
    const t = await template(h, "cloud", [
      ...FULL,
      "--set",
      "ingress.className=traefik,ingress.websocketTimeoutSeconds=900",
    ]);
    const ting = find(t, "Ingress", "rel-cloud");
    expect(ting?.spec.ingressClassName).toBe("traefik");
    expect(ting?.metadata.annotations?.["traefik.ingress.kubernetes.io/service.serverstransport"]).toBe(
      "camel-rel-cloud@kubernetescrd",
    );
    expect(find(t, "ServersTransport", "rel-cloud")?.spec.forwardingTimeouts.idleConnTimeout).toBe("900s");
  });

  it("emits a ServiceMonitor for /metrics", () => {
    const sm = find(ms(), "ServiceMonitor", "rel-cloud");
    expect(sm?.spec.endpoints[0]).toMatchObject({ port: "http", path: "/metrics" });
  });

  it("stores a database URL given as a value in its own Secret", async () => {
    const t = await template(h, "cloud", [
      "--set",
      "database.url=postgres://u:p@db:5432/cloud,autoscaling.enabled=false",
    ]);
    const s = find(t, "Secret", "rel-cloud-database");
    expect(Buffer.from(s?.data.DATABASE_URL, "base64").toString()).toBe("postgres://u:p@db:5432/cloud");
    expect(find(t, "Deployment", "rel-cloud")?.spec.replicas).toBe(2);
    expect(byKind(t, "HorizontalPodAutoscaler")).toEqual([]);
  });

  it("refuses to render without a database, and names wrong values", async () => {
    const none = await helm(HELMS[h], ["template", "rel", chart]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain("database.existingSecret");
    const typo = await helm(HELMS[h], ["template", "rel", chart, ...BASE, "--set", "replicas=3"]);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain("replicas");
    const role = await helm(HELMS[h], ["template", "rel", chart, ...BASE, "--set", "roles={api,worker}"]);
    expect(role.code).not.toBe(0);
    expect(role.stderr).toMatch(/roles[./]1/);
  });
});
