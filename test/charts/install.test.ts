// The charts installed for real: the pinned helm binaries (Helm 4 and Helm 3) install, upgrade and `helm test`
// charts/runner (appliance profile with integrations, and agent-only) and charts/cloud into the Kubernetes API
// simulator (test/k8s-sim), which speaks the real API over HTTPS and runs simulated controllers and a kubelet.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim } from "../k8s-sim/index.ts";
import { chartDir, cleanupHelmHome, HELMS, type HelmName, helm, repoRoot } from "./helm.ts";

const runner = chartDir("runner");
const fixture = `${repoRoot}/test/charts/fixtures/integrations.yaml`;
const helmNames = Object.keys(HELMS) as HelmName[];

let sim: KubeSim;
beforeAll(async () => {
  sim = await KubeSim.start({ readyDelayMs: 20 });
}, 60_000);
afterAll(async () => {
  await sim?.stop();
  cleanupHelmHome();
});

const kube = () => ["--kubeconfig", sim.kubeconfigPath];
// every flag explicit, as the agent's Helm executor runs it
const WAIT = ["--wait", "--timeout", "90s"];

async function ok(bin: string, args: string[]): Promise<string> {
  const r = await helm(bin, [...args, ...kube()]);
  if (r.code !== 0) throw new Error(`helm ${args.join(" ")} failed:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

const secretValue = async (ns: string, name: string, key: string): Promise<string> => {
  const s = sim.get("Secret", ns, name) as { data?: Record<string, string> } | undefined;
  if (!s) throw new Error(`Secret ${ns}/${name} not found`);
  return Buffer.from(s.data?.[key] ?? "", "base64").toString();
};

describe.each(helmNames)("charts installed into the Kubernetes API simulator with %s", (h) => {
  const bin = HELMS[h];
  const ns = `runner-${h.startsWith("helm4") ? "h4" : "h3"}`;

  it("installs the appliance profile with integrations, keeps generated secrets on upgrade, and passes helm test", {
    timeout: 240_000,
  }, async () => {
    const notes = await ok(bin, [
      "install",
      "camel",
      runner,
      "-n",
      ns,
      "--create-namespace",
      "-f",
      `${runner}/values-appliance.yaml`,
      "-f",
      fixture,
      ...WAIT,
    ]);
    // NOTES tell the admin where the console is and how to read its password
    expect(notes).toContain(
      `kubectl -n ${ns} get secret camel-runner-console -o jsonpath='{.data.password}' | base64 -d`,
    );
    const deploy = sim.get("Deployment", ns, "camel-runner-orders") as { status?: { readyReplicas?: number } };
    expect(deploy.status?.readyReplicas).toBe(2);
    expect(sim.get("StatefulSet", ns, "camel-runner-victoriametrics")).toBeDefined();
    expect(sim.get("DaemonSet", ns, "camel-runner-otel-collector")).toBeDefined();
    const password = await secretValue(ns, "camel-runner-console", "password");
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    const dbPassword = await secretValue(ns, "camel-runner-postgresql", "password");
    expect(dbPassword).toHaveLength(32);

    // the agent creates its key Secret on first start (as agent/src/keystore.ts does); upgrades must leave it alone
    expect(sim.get("Secret", ns, "camel-runner-agent-key")).toBeUndefined();
    sim.seed({
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: {
        name: "camel-runner-agent-key",
        namespace: ns,
        labels: { "app.kubernetes.io/component": "agent-key" },
      },
      data: { "key.jwk": Buffer.from('{"kty":"OKP"}').toString("base64") },
    });

    await ok(bin, [
      "upgrade",
      "camel",
      runner,
      "-n",
      ns,
      "-f",
      `${runner}/values-appliance.yaml`,
      "-f",
      fixture,
      "--set",
      "integrations[1].replicas=2",
      ...WAIT,
    ]);
    expect(await secretValue(ns, "camel-runner-console", "password")).toBe(password);
    expect(await secretValue(ns, "camel-runner-postgresql", "password")).toBe(dbPassword);
    expect(await secretValue(ns, "camel-runner-agent-key", "key.jwk")).toBe('{"kty":"OKP"}');
    const ticker = sim.get("Deployment", ns, "camel-runner-ticker") as { spec: { replicas: number } };
    expect(ticker.spec.replicas).toBe(2);

    const test = await ok(bin, ["test", "camel", "-n", ns, "--timeout", "60s"]);
    expect(test).toMatch(/camel-runner-test-integrations[\s\S]*Succeeded/);
    expect(test).toMatch(/camel-runner-test-agent-link[\s\S]*Succeeded/);

    const status = await ok(bin, ["status", "camel", "-n", ns, "-o", "json"]);
    const parsed = JSON.parse(status) as { version: number; info: { status: string } };
    expect(parsed.version).toBe(2);
    expect(parsed.info.status).toBe("deployed");
  });

  it("installs and upgrades the agent-only profile", { timeout: 240_000 }, async () => {
    const ons = `${ns}-agent`;
    const args = ["camel-agent", runner, "-n", ons, "-f", `${runner}/values-agent-only.yaml`];
    await ok(bin, ["install", ...args, "--create-namespace", "--set", "agent.licenseToken=t0ken", ...WAIT]);
    await ok(bin, ["upgrade", ...args, "--set", "agent.licenseToken=t0ken,agent.logLevel=debug", ...WAIT]);
    const test = await ok(bin, ["test", "camel-agent", "-n", ons, "--timeout", "60s"]);
    expect(test).toMatch(/camel-agent-runner-test-agent-link[\s\S]*Succeeded/);
    expect(await secretValue(ons, "camel-agent-runner-agent", "license-token")).toBe("t0ken");

    // an agent that is not linked: the hook pod exits non-zero and helm test fails, naming it
    sim.injectFault("Pod", ons, "camel-agent-runner-test-agent-link", { type: "fail" });
    const failed = await helm(bin, ["test", "camel-agent", "-n", ons, "--timeout", "60s", ...kube()]);
    sim.clearFault("Pod", ons, "camel-agent-runner-test-agent-link");
    expect(failed.code).not.toBe(0);
    expect(failed.stderr + failed.stdout).toContain("camel-agent-runner-test-agent-link");
  });

  it("installs and upgrades the cloud chart, keeping its generated key-encryption key", {
    timeout: 240_000,
  }, async () => {
    const cns = `${ns}-cloud`;
    const args = ["cloud", chartDir("cloud"), "-n", cns, "--set", "database.url=postgres://u:p@db:5432/cloud"];
    await ok(bin, ["install", ...args, "--create-namespace", "--set", "metrics.serviceMonitor.enabled=true", ...WAIT]);
    const kek = await secretValue(cns, "cloud-key-encryption", "KEY_ENCRYPTION_KEY");
    expect(Buffer.from(kek, "base64")).toHaveLength(32);
    await ok(bin, ["upgrade", ...args, "--set", "logLevel=debug,metrics.serviceMonitor.enabled=true", ...WAIT]);
    expect(await secretValue(cns, "cloud-key-encryption", "KEY_ENCRYPTION_KEY")).toBe(kek);
    const test = await ok(bin, ["test", "cloud", "-n", cns, "--timeout", "60s"]);
    expect(test).toMatch(/Succeeded/);
  });
});
