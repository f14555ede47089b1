// The command-line runner: starts, writes a kubeconfig, answers the API and the /k8s-sim/v1 test
// controls, and stops on SIGTERM. Also a non-K3s version string.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = resolve(import.meta.dirname, "../..");

describe("cli.ts", () => {
  let child: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), "k8s-sim-cli-"));

  afterAll(() => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the API and the test controls until SIGTERM", async () => {
    const kubeconfig = join(dir, "kc");
    child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(import.meta.dirname, "cli.ts"),
        "--http",
        "--port",
        "0",
        "--kubeconfig",
        kubeconfig,
        "--git-version",
        "v1.32.1",
      ],
      { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT },
    );
    const url = await new Promise<string>((done, fail) => {
      let out = "";
      const timer = setTimeout(() => fail(new Error(`cli did not start: ${out}`)), 20_000);
      child!.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /listening on (\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          done(m[1]!);
        }
      });
    });
    const kc = parse(readFileSync(kubeconfig, "utf8"));
    expect(kc.clusters[0].cluster.server).toBe(url);
    const token = kc.users[0].user.token as string;
    const version = (await (await fetch(`${url}/version`)).json()) as { gitVersion: string };
    expect(version.gitVersion).toBe("v1.32.1");
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const seeded = await fetch(`${url}/k8s-sim/v1/seed`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "seeded", namespace: "default" } }),
    });
    expect(seeded.status).toBe(200);
    const got = await fetch(`${url}/api/v1/namespaces/default/configmaps/seeded`, { headers: auth });
    expect(got.status).toBe(200);
    const cond = await fetch(`${url}/k8s-sim/v1/node-condition`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ node: "sim-node-1", type: "Ready", status: "False" }),
    });
    expect(cond.status).toBe(200);
    const node = (await (await fetch(`${url}/api/v1/nodes/sim-node-1`, { headers: auth })).json()) as {
      status: { conditions: { type: string; status: string }[] };
    };
    expect(node.status.conditions.find((c) => c.type === "Ready")!.status).toBe("False");
    const exited = new Promise<number | null>((done) => child!.once("exit", (code) => done(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    child = undefined;
  });
});
