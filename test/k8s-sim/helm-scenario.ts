// The helm scenario both helm test files run: install, upgrade, rollback, history, status, test and
// uninstall of the fixture chart, with --wait served by the simulated controllers.

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSim, type Obj } from "./index.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const CHART = join(import.meta.dirname, "fixtures/sim-chart");
export const HELM4 = join(ROOT, ".tools/helm4/helm");
export const HELM3 = join(ROOT, ".tools/helm3/helm");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Run> {
  return new Promise((done) => {
    execFile(bin, args, { env, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export function helmScenario(label: "helm 4" | "helm 3", bin: string): void {
  describe.skipIf(!existsSync(bin))(label, () => {
    let sim: KubeSim;
    let home: string;
    let helm: (...args: string[]) => Promise<Run>;
    const ns = "apps";
    const release = "demo";

    beforeAll(async () => {
      sim = await KubeSim.start({ readyDelayMs: 50 });
      home = mkdtempSync(join(tmpdir(), "k8s-sim-helm-"));
      const env = {
        PATH: process.env.PATH,
        HOME: home,
        XDG_CONFIG_HOME: join(home, "config"),
        XDG_CACHE_HOME: join(home, "cache"),
        XDG_DATA_HOME: join(home, "data"),
        HELM_KUBECONTEXT: "",
      };
      helm = (...args) => run(bin, [...args, "--kubeconfig", sim.kubeconfigPath], env);
    });

    afterAll(async () => {
      const bugs = sim?.controllers?.errors ?? [];
      await sim?.stop();
      expect(bugs).toEqual([]);
      if (home) rmSync(home, { recursive: true, force: true });
    });

    const deployment = () => sim.get("Deployment", ns, `${release}-web`)!;
    const envNames = () => (deployment().spec.template.spec.containers[0].env as Obj[]).map((e) => e.name);

    it("installs with --wait and stores the release as a labelled Secret", async () => {
      const r = await helm(
        "install",
        release,
        CHART,
        "-n",
        ns,
        "--create-namespace",
        "--wait",
        "--timeout",
        "30s",
        "--set",
        "statefulset.enabled=true,serviceMonitor.enabled=true",
      );
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("STATUS: deployed");
      expect(deployment().status.readyReplicas).toBe(1);
      expect(sim.get("StatefulSet", ns, `${release}-db`)!.status.readyReplicas).toBe(2);
      expect(sim.get("PersistentVolumeClaim", ns, `${release}-data`)!.status.phase).toBe("Bound");
      expect(sim.get("ServiceMonitor", ns, `${release}-web`)).toBeDefined();
      const secrets = sim.list("Secret", ns, { labelSelector: `owner=helm,name=${release}` });
      expect(secrets.map((s) => s.type)).toEqual(["helm.sh/release.v1"]);
      expect(secrets[0]!.metadata.labels.status).toBe("deployed");
    });

    it("upgrades with --wait, merging container env", async () => {
      const r = await helm(
        "upgrade",
        release,
        CHART,
        "-n",
        ns,
        "--wait",
        "--timeout",
        "30s",
        "--set",
        "statefulset.enabled=true,serviceMonitor.enabled=true,image.tag=1.28,message=bye",
        "--set",
        "env[0].name=EXTRA,env[0].value=x",
      );
      expect(r.code, r.stderr).toBe(0);
      expect(envNames()).toEqual(["MESSAGE", "EXTRA"]);
      expect(deployment().spec.template.spec.containers[0].image).toBe("nginx:1.28");
      expect(deployment().status).toMatchObject({ updatedReplicas: 1, readyReplicas: 1, replicas: 1 });
      expect(sim.get("ConfigMap", ns, `${release}-config`)!.data.message).toBe("bye");
    });

    it("rolls back and shows history and status", async () => {
      const rb = await helm("rollback", release, "1", "-n", ns, "--wait", "--timeout", "30s");
      expect(rb.code, rb.stderr).toBe(0);
      expect(envNames()).toEqual(["MESSAGE"]);
      expect(deployment().spec.template.spec.containers[0].image).toBe("nginx:1.27");
      const history = await helm("history", release, "-n", ns, "-o", "json");
      expect(history.code, history.stderr).toBe(0);
      const revs = JSON.parse(history.stdout) as Obj[];
      expect(revs.map((h) => [h.revision, h.status])).toEqual([
        [1, "superseded"],
        [2, "superseded"],
        [3, "deployed"],
      ]);
      const status = await helm("status", release, "-n", ns);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/STATUS: deployed/);
      expect(status.stdout).toMatch(/REVISION: 3/);
    });

    it("runs the chart's test pod to Succeeded, and reports a failing one", async () => {
      const ok = await helm("test", release, "-n", ns, "--timeout", "30s");
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/Phase:\s+Succeeded/);
      sim.injectFault("Pod", ns, `${release}-test`, { type: "fail" });
      const bad = await helm("test", release, "-n", ns, "--timeout", "30s");
      expect(bad.code).not.toBe(0);
      sim.clearFault("Pod", ns, `${release}-test`);
    });

    it("fails upgrade --wait when the new pods never become ready", async () => {
      sim.injectFault("Deployment", ns, `${release}-web`, { type: "never-ready", image: "nginx:1.29" });
      const r = await helm("upgrade", release, CHART, "-n", ns, "--wait", "--timeout", "3s", "--set", "image.tag=1.29");
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/context deadline exceeded|timed out|not ready|InProgress/i);
      const status = await helm("status", release, "-n", ns, "-o", "json");
      expect((JSON.parse(status.stdout) as Obj).info.status).toBe("failed");
    });

    it("rolls a failed upgrade back when asked to (--atomic / --rollback-on-failure)", async () => {
      const flag = label === "helm 4" ? "--rollback-on-failure" : "--atomic";
      const r = await helm(
        "upgrade",
        release,
        CHART,
        "-n",
        ns,
        flag,
        "--wait",
        "--timeout",
        "3s",
        "--set",
        "image.tag=1.29",
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/rolled back|rollback/i);
      const status = await helm("status", release, "-n", ns, "-o", "json");
      expect((JSON.parse(status.stdout) as Obj).info.status).toBe("deployed");
      expect(deployment().spec.template.spec.containers[0].image).toBe("nginx:1.27");
      await sim.waitFor(
        "Deployment",
        ns,
        `${release}-web`,
        (d) => d.status?.readyReplicas === 1 && d.status?.replicas === 1,
      );
      sim.clearFault("Deployment", ns, `${release}-web`);
    });

    it("uninstalls and waits for the resources to go", async () => {
      const r = await helm("uninstall", release, "-n", ns, "--wait", "--timeout", "30s");
      expect(r.code, r.stderr).toBe(0);
      expect(sim.get("Deployment", ns, `${release}-web`)).toBeUndefined();
      // Only the test hook's pod stays behind, as on a real cluster (it has no delete policy).
      const pods = sim.list("Pod", ns).map((p) => p.metadata.name);
      expect(pods).toEqual([`${release}-test`]);
      expect(sim.list("Secret", ns, { labelSelector: "owner=helm" })).toEqual([]);
    });
  });
}
