import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectHelm, type HelmEnv, rollbackArgs, runHelm, upgradeArgs } from "./helm-cli.ts";

const bins = { 3: resolve(".tools/helm3/helm"), 4: resolve(".tools/helm4/helm") } as const;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "helm-cli-"));
  // a kubeconfig naming a closed port: helm must get past flag parsing and fail on the connection
  await writeFile(
    join(dir, "kubeconfig"),
    "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {}}]\n",
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.each([3, 4] as const)("helm %i", (major) => {
  let env: HelmEnv;
  beforeAll(async () => {
    env = await detectHelm(bins[major], dir, join(dir, "kubeconfig"));
  });

  it("detects its major version", () => {
    expect(env.major).toBe(major);
  });

  it("passes every behaviour flag explicitly and never --reuse-values", () => {
    const a = upgradeArgs(major, {
      release: "r",
      namespace: "ns",
      chartPath: "/c.tgz",
      valuesFile: "/v.json",
      timeoutSeconds: 42,
      historyMax: 10,
      serverSide: false,
      wait: true,
    });
    expect(a).toEqual(
      expect.arrayContaining(["--install", "--timeout", "42s", "--history-max", "10", "--reset-values"]),
    );
    expect(a).not.toContain("--reuse-values");
    expect(a).not.toContain("--atomic");
    if (major === 4) expect(a).toEqual(expect.arrayContaining(["--wait=legacy", "--server-side=false"]));
    else {
      expect(a).toContain("--wait");
      expect(a.some((x) => x.startsWith("--server-side"))).toBe(false);
    }
  });

  it("builds commands the real binary accepts (it fails on the cluster, not on a flag)", async () => {
    const up = upgradeArgs(major, {
      release: "r",
      namespace: "ns",
      chartPath: resolve("test/agent/fixtures/demo-chart"),
      valuesFile: join(dir, "kubeconfig"),
      timeoutSeconds: 5,
      historyMax: 10,
      serverSide: false,
      wait: true,
      labels: { "camel-ops.io/generation": "3" },
      description: "x",
    });
    const rb = rollbackArgs(major, {
      release: "r",
      namespace: "ns",
      revision: 1,
      timeoutSeconds: 5,
      historyMax: 10,
      serverSide: false,
      wait: true,
    });
    for (const args of [up, rb]) {
      const r = await runHelm(env, args);
      expect(r.code).not.toBe(0);
      expect(r.stderr).not.toMatch(/unknown flag|invalid argument|flag needs/i);
      expect(r.stderr).toMatch(/unreachable|connection refused|127\.0\.0\.1:9/i);
    }
  });
});

it("refuses server-side apply on Helm 3", () => {
  expect(() =>
    upgradeArgs(3, {
      release: "r",
      namespace: "n",
      chartPath: "c",
      valuesFile: "v",
      timeoutSeconds: 1,
      historyMax: 1,
      serverSide: true,
      wait: true,
    }),
  ).toThrow(/Helm 4/);
});

it("forwards an abort as SIGTERM to the helm child", async () => {
  const env: HelmEnv = { bin: "/bin/sh", major: 3, stateDir: dir };
  const ac = new AbortController();
  const p = runHelm(env, ["-c", "trap 'echo got-term; exit 3' TERM; while :; do sleep 0.05; done"], {
    signal: ac.signal,
    onSpawn: () => setTimeout(() => ac.abort(), 100),
  });
  const r = await p;
  expect(r.stdout).toContain("got-term");
  expect(r.code).toBe(3);
});
