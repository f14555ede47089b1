// runner-ctl against the Kubernetes API simulator and the real helm binary: status, logs, backup →
// wipe → restore, update and automatic rollback, support bundle redaction, license, config set.
// The appliance's files live in a temporary root (RUNNER_ROOT); volumes are directories under it.
import { execFile, spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createProbeHandler } from "../../agent/src/console/server.ts";
import { LICENSE_AUDIENCE, LICENSE_ISSUER } from "../../shared/src/license.ts";
import { KubeSim } from "../../test/k8s-sim/index.ts";
import { main } from "../runner-ctl/src/main.ts";

const exec = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const HELM = join(repo, ".tools", "helm4", "helm");
const FIXTURE_CHART = join(here, "fixtures", "runner-chart");
const NS = "camel-runner";

// --- the appliance in a temporary root ---------------------------------------------------------

interface Appliance {
  root: string;
  stubs: string;
  calls: string;
  env: NodeJS.ProcessEnv;
  token: string;
  jwks: object;
  signToken: (claims: Record<string, unknown>) => Promise<string>;
  releaseKeyPem: string;
  releaseKey: ReturnType<typeof generateKeyPairSync>["privateKey"];
}

async function makeLicenseKeys() {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const jwk = { ...(await exportJWK(publicKey)), kid: "test-key-1", alg: "EdDSA", use: "sig" };
  const signToken = async (over: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      org: "org_vendor",
      customer: { id: "cus_acme", name: "Acme Corp" },
      entitlements: { maxWorkerNodes: 3, maxHubs: 1, updateChannel: "stable", features: [] },
      ...over,
    };
    return await new SignJWT(claims)
      .setProtectedHeader({ alg: "EdDSA", kid: "test-key-1" })
      .setIssuer(LICENSE_ISSUER)
      .setAudience(LICENSE_AUDIENCE)
      .setSubject("lic_123")
      .setJti(`jti_${randomBytes(4).toString("hex")}`)
      .setIssuedAt(now - 60)
      .setNotBefore(now - 60)
      .setExpirationTime((over.exp as number | undefined) ?? now + 200 * 86400)
      .sign(privateKey);
  };
  return { jwks: { keys: [jwk] }, signToken };
}

function write(path: string, text: string, mode = 0o644) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
}

async function makeAppliance(sim: KubeSim, extraEnv: NodeJS.ProcessEnv = {}): Promise<Appliance> {
  const root = mkdtempSync(join(tmpdir(), "runner-ctl-root-"));
  const stubs = join(root, "..", `${root.split("/").pop()}-stubs`);
  const calls = join(root, "calls.log");
  mkdirSync(stubs, { recursive: true });
  write(calls, "");
  // systemctl stub: logs its arguments; the K3s service is active.
  write(
    join(stubs, "systemctl"),
    `#!/bin/sh\necho "systemctl $*" >>"${calls}"\ncase $1 in is-active) echo active ;; esac\nexit 0\n`,
    0o755,
  );
  write(join(stubs, "timedatectl"), "#!/bin/sh\necho yes\n", 0o755);
  write(
    join(stubs, "journalctl"),
    "#!/bin/sh\necho 'k3s[1]: started, token=K10abc::server:journal-secret-999'\n",
    0o755,
  );
  mkdirSync(join(root, "run", "systemd", "system"), { recursive: true });
  const { jwks, signToken } = await makeLicenseKeys();
  const token = await signToken({});
  write(join(root, "usr/local/lib/camel-runner/jwks.json"), JSON.stringify(jwks));
  write(join(root, "etc/camel-runner/secrets/license.jwt"), token, 0o600);
  write(join(root, "etc/camel-runner/secrets/agent-token"), "agent-token-0123456789abcdef", 0o600);
  cpSync(FIXTURE_CHART, join(root, "usr/local/lib/camel-runner/charts/runner"), { recursive: true });
  write(
    join(root, "etc/camel-runner/runner.conf"),
    [
      "ROLE=hub",
      "NODE_NAME=hub",
      "HUB_IP=",
      "HTTP_PROXY=",
      "HTTPS_PROXY=",
      "NO_PROXY=",
      "BUNDLE_VERSION=1.0.0",
      "NAMESPACE=camel-runner",
      "RELEASE=runner",
      "",
    ].join("\n"),
    0o600,
  );
  write(join(root, "etc/camel-runner/values-local.yaml"), "mode: appliance\n", 0o600);
  write(join(root, "etc/rancher/k3s/config.yaml"), 'node-name: "hub"\nwrite-kubeconfig-mode: "0600"\n', 0o600);
  write(join(root, "var/lib/rancher/k3s/server/token"), "K10deadbeef::server:server-token-secret-42", 0o600);
  write(join(root, "var/lib/rancher/k3s/server/db/state.db"), "SQLite format 3\u0000fake datastore", 0o600);
  write(join(root, "etc/rancher/node/password"), "node-password-secret-77", 0o600);
  mkdirSync(join(root, "var/lib/rancher/k3s/storage"), { recursive: true });
  write(join(root, "usr/local/bin/k3s"), "#!/bin/sh\necho k3s-binary-v1\n", 0o755);
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const releaseKeyPem = join(root, "..", `${root.split("/").pop()}-release.pub`);
  writeFileSync(releaseKeyPem, publicKey.export({ type: "spki", format: "pem" }));
  const env: NodeJS.ProcessEnv = {
    PATH: `${stubs}:${process.env.PATH}`,
    HOME: root,
    TMPDIR: root,
    RUNNER_ROOT: root,
    RUNNER_KUBECONFIG: sim.kubeconfigPath,
    RUNNER_HELM: HELM,
    RUNNER_BACKUP_PASSPHRASE: "correct horse battery staple",
    RUNNER_RELEASE_PUBKEY_FILE: releaseKeyPem,
    ...extraEnv,
  };
  return { root, stubs, calls, env, token, jwks, signToken, releaseKeyPem, releaseKey: privateKey };
}

async function cli(a: Appliance, args: string[], opts: { signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {}) {
  let out = "";
  let err = "";
  const code = await main(args, {
    env: { ...a.env, ...opts.env },
    io: { out: (s) => (out += s), err: (s) => (err += s) },
    signal: opts.signal,
    interactive: false,
  });
  return { code, out, err };
}

const INTEGRATIONS = [
  { name: "orders", routes: "- from:\n    uri: timer:orders\n    steps:\n      - log: order" },
  { name: "billing", routes: "- from:\n    uri: timer:billing\n    steps:\n      - log: bill" },
];

async function installRelease(a: Appliance, sim: KubeSim) {
  const values = join(a.root, "install-values.json");
  writeFileSync(
    values,
    JSON.stringify({
      integrations: INTEGRATIONS,
      agent: { licenseToken: a.token },
      database: { password: "S3cr3t-db-pass-4711" },
    }),
  );
  await exec(HELM, [
    "upgrade",
    "--install",
    "runner",
    join(a.root, "usr/local/lib/camel-runner/charts/runner"),
    "--namespace",
    NS,
    "--create-namespace",
    "--kubeconfig",
    sim.kubeconfigPath,
    "--values",
    values,
    "--wait",
    "--timeout",
    "60s",
  ]);
}

async function helmJson(sim: KubeSim, args: string[]) {
  const r = await exec(HELM, [...args, "--namespace", NS, "--kubeconfig", sim.kubeconfigPath, "--output", "json"]);
  return JSON.parse(r.stdout);
}

function pvcDir(sim: KubeSim, root: string, pvc: string): string {
  const p = sim.get("PersistentVolumeClaim", NS, pvc);
  return join(root, "var/lib/rancher/k3s/storage", `pvc-${p?.metadata.uid}_${NS}_${pvc}`);
}

/** path → sha256 of every file (and link target of every symlink) under a directory. */
function treeDigest(dir: string, base = dir, out: Record<string, string> = {}): Record<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const rel = p.slice(base.length + 1);
    if (e.isSymbolicLink()) out[rel] = `link:${readFileSync(p).length}`;
    else if (e.isDirectory()) treeDigest(p, base, out);
    else
      out[rel] =
        `${createHash("sha256").update(readFileSync(p)).digest("hex")}:${(statSync(p).mode & 0o777).toString(8)}`;
  }
  return out;
}

function fillVolume(dir: string, seed: string) {
  mkdirSync(join(dir, "nested", "deeper"), { recursive: true });
  writeFileSync(join(dir, "data.bin"), randomBytes(256 * 1024));
  writeFileSync(join(dir, "nested", "state.json"), JSON.stringify({ seed, at: Date.now() }));
  writeFileSync(join(dir, "nested", "deeper", "empty"), "");
  writeFileSync(join(dir, "secret.key"), `key-${seed}`, { mode: 0o600 });
  chmodSync(join(dir, "secret.key"), 0o600);
  symlinkSync("nested/state.json", join(dir, "current"));
}

// --- a fake VictoriaMetrics query API (an external service) beside the agent's real probe handler -------

const agentProbes = createProbeHandler({
  healthy: () => true,
  ready: () => true,
  linked: () => true,
  metrics: () => ({}),
  status: () => ({}),
});

function startMetricsServer(): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/linkz") return void agentProbes(req, res);
    const q = url.searchParams.get("query") ?? "";
    const failed = q.includes("camel_exchanges_failed_total");
    const result = [
      { metric: { integration: "orders" }, value: [Date.now() / 1000, failed ? "3" : "120"] },
      { metric: { integration: "billing" }, value: [Date.now() / 1000, failed ? "0" : "7"] },
    ];
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result } }));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

// --- bundles -----------------------------------------------------------------------------------

function makeBundle(
  a: Appliance,
  o: {
    version: string;
    chartVersion: string;
    extraWorkloads?: string[];
    tamper?: boolean;
    key?: Appliance["releaseKey"];
    image?: Buffer;
  },
) {
  const dir = mkdtempSync(join(a.root, "bundle-src-"));
  write(join(dir, "VERSION"), `${o.version}\n`);
  write(join(dir, "ARCH"), "amd64\n");
  write(join(dir, "bin/k3s"), "#!/bin/sh\necho k3s-binary-v1\n", 0o755);
  write(join(dir, "bin/helm"), "placeholder: the tests use .tools/helm4/helm\n", 0o755);
  write(join(dir, "runner-ctl.mjs"), `// runner-ctl ${o.version}\n`);
  write(join(dir, "jwks.json"), JSON.stringify(a.jwks));
  cpSync(FIXTURE_CHART, join(dir, "charts/runner"), { recursive: true });
  if (o.image) {
    mkdirSync(join(dir, "images"), { recursive: true });
    writeFileSync(join(dir, "images/runner-images-amd64.tar.zst"), o.image);
  }
  const chartYaml = join(dir, "charts/runner/Chart.yaml");
  write(chartYaml, readFileSync(chartYaml, "utf8").replace(/^version: .*$/m, `version: ${o.chartVersion}`));
  if (o.extraWorkloads) {
    write(
      join(dir, "charts/runner/values-appliance.yaml"),
      `mode: appliance\nextraWorkloads: ${JSON.stringify(o.extraWorkloads)}\n`,
    );
  }
  const files = spawnSync("find", [".", "-type", "f"], { cwd: dir, encoding: "utf8" })
    .stdout.split("\n")
    .filter(Boolean)
    .map((f) => f.replace(/^\.\//, ""))
    .sort();
  const sums = files
    .map(
      (f) =>
        `${createHash("sha256")
          .update(readFileSync(join(dir, f)))
          .digest("hex")}  ${f}`,
    )
    .join("\n");
  write(join(dir, "SHA256SUMS"), `${sums}\n`);
  writeFileSync(join(dir, "SHA256SUMS.sig"), sign(null, readFileSync(join(dir, "SHA256SUMS")), o.key ?? a.releaseKey));
  if (o.tamper) write(join(dir, "charts/runner/values-appliance.yaml"), "mode: appliance\n# changed after signing\n");
  const file = join(a.root, `bundle-${o.version}-${randomBytes(3).toString("hex")}.tar.gz`);
  const t = spawnSync("tar", ["-czf", file, "-C", dir, "."]);
  expect(t.status).toBe(0);
  rmSync(dir, { recursive: true, force: true });
  return file;
}

// ------------------------------------------------------------------------------------------------

let sim: KubeSim;
let a: Appliance;
let metrics: Server;

beforeAll(async () => {
  metrics = await startMetricsServer();
});
afterAll(async () => {
  await new Promise((r) => metrics.close(r));
});

beforeEach(async () => {
  sim = await KubeSim.start({ readyDelayMs: 20, nodes: ["hub"] });
  const base = `http://127.0.0.1:${(metrics.address() as AddressInfo).port}`;
  a = await makeAppliance(sim, { RUNNER_METRICS_URL: base, RUNNER_AGENT_URL: base });
  await installRelease(a, sim);
});

afterEach(async () => {
  await sim.stop();
  rmSync(a.root, { recursive: true, force: true });
  rmSync(a.stubs, { recursive: true, force: true });
  rmSync(a.releaseKeyPem, { force: true });
});

describe("runner-ctl CLI", () => {
  it("has --help on every command, exit 2 on usage errors", async () => {
    for (const cmd of [
      "status",
      "logs",
      "backup",
      "restore",
      "update",
      "support-bundle",
      "preflight",
      "license",
      "config",
      "worker-token",
    ]) {
      const r = await cli(a, [cmd, "--help"]);
      expect(r.code, cmd).toBe(0);
      expect(r.out, cmd).toContain("Usage: runner-ctl");
    }
    expect((await cli(a, ["frobnicate"])).code).toBe(2);
    expect((await cli(a, ["status", "--bogus"])).code).toBe(2);
    expect((await cli(a, ["logs"])).code).toBe(2);
    expect((await cli(a, ["update"])).code).toBe(2);
  });
});

describe("status", () => {
  it("shows machines, service, release, integrations with Camel counts, cloud link, license, certificates, disk", async () => {
    // a K3s serving certificate that expires in 20 days
    const tls = join(a.root, "var/lib/rancher/k3s/server/tls");
    mkdirSync(tls, { recursive: true });
    const gen = spawnSync("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ed25519",
      "-nodes",
      "-keyout",
      join(tls, "serving-kube-apiserver.key"),
      "-out",
      join(tls, "serving-kube-apiserver.crt"),
      "-days",
      "20",
      "-subj",
      "/CN=k3s",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ]);
    expect(gen.status).toBe(0);

    const r = await cli(a, ["status", "--json"]);
    const s = JSON.parse(r.out);
    expect(s.nodes).toEqual([expect.objectContaining({ name: "hub", ready: true, pressure: [] })]);
    expect(s.service).toEqual({ name: "k3s", state: "active" });
    expect(s.release).toMatchObject({ status: "deployed", revision: 1, chart: "runner-0.1.0" });
    expect(s.integrations).toEqual([
      { name: "billing", ready: 1, desired: 1, state: "running", exchanges: 7, failed: 0 },
      { name: "orders", ready: 1, desired: 1, state: "running", exchanges: 120, failed: 3 },
    ]);
    expect(s.cloudLink).toEqual({ state: "connected" });
    expect(s.license).toMatchObject({ valid: true, customer: "Acme Corp" });
    expect(s.license.daysLeft).toBeGreaterThanOrEqual(199);
    expect(s.certificates.daysLeft).toBeLessThanOrEqual(20);
    expect(s.disk.sizeBytes).toBeGreaterThan(0);
    // the expiring certificate makes the appliance degraded, with the reason and the fix
    expect(s.overall).toBe("degraded");
    expect(s.problems).toContain("cluster certificates expire in 19 days: restart K3s to renew them");
    expect(r.code).toBe(1);

    const table = await cli(a, ["status"]);
    expect(table.out).toContain("Appliance: DEGRADED");
    expect(table.out).toMatch(/orders\s+running\s+1\/1\s+120\s+3/);
    expect(table.out).toMatch(/cloud link\s+connected/);
    expect(table.out).toMatch(/license\s+valid\s+Acme Corp/);
  });

  it("is ok when all is well, and reports a machine under disk pressure", async () => {
    const ok = await cli(a, ["status", "--json"]);
    expect(JSON.parse(ok.out).overall).toBe("ok");
    expect(ok.code).toBe(0);
    sim.setNodeCondition("hub", "DiskPressure", "True");
    const r = await cli(a, ["status", "--json"]);
    const s = JSON.parse(r.out);
    expect(s.overall).toBe("degraded");
    expect(s.problems).toContain("machine hub reports DiskPressure");
    expect(r.code).toBe(1);
  });

  it("reports a failing integration", async () => {
    sim.injectFault("Deployment", NS, "billing", { type: "image-pull" });
    for (const p of sim.list("Pod", NS, { labelSelector: "camel-ops.io/integration=billing" })) {
      sim.delete("Pod", NS, p.metadata.name);
    }
    let s = JSON.parse((await cli(a, ["status", "--json"])).out);
    for (
      let i = 0;
      i < 40 && s.integrations.find((x: { name: string }) => x.name === "billing")?.state !== "failing";
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
      s = JSON.parse((await cli(a, ["status", "--json"])).out);
    }
    const billing = s.integrations.find((i: { name: string }) => i.name === "billing");
    expect(billing.state).toBe("failing");
    expect(s.overall).toBe("degraded");
    expect(s.problems).toContain("integration billing is failing to start");
  });
});

describe("logs", () => {
  it("prints an integration's log, the tail, and names the installed integrations on a typo", async () => {
    const pod = sim.list("Pod", NS, { labelSelector: "camel-ops.io/integration=orders" })[0];
    expect(pod).toBeDefined();
    sim.writePodLog(NS, pod?.metadata.name, "camel", "line 1\nline 2\nline 3\n");
    const r = await cli(a, ["logs", "orders"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe("line 1\nline 2\nline 3\n");
    expect((await cli(a, ["logs", "orders", "--tail", "1"])).out).toBe("line 3\n");
    const typo = await cli(a, ["logs", "ordres"]);
    expect(typo.code).toBe(1);
    expect(typo.err).toContain("no integration named ordres (installed: billing, orders)");
  });

  it("follows the log with -f until stopped", async () => {
    const pod = sim.list("Pod", NS, { labelSelector: "camel-ops.io/integration=orders" })[0];
    sim.writePodLog(NS, pod?.metadata.name, "camel", "before\n");
    const ac = new AbortController();
    let out = "";
    const done = main(["logs", "orders", "-f"], {
      env: a.env,
      io: { out: (s) => (out += s), err: () => {} },
      signal: ac.signal,
    });
    const until = async (text: string) => {
      for (let i = 0; i < 200 && !out.includes(text); i++) await new Promise((r) => setTimeout(r, 25));
    };
    await until("before");
    sim.writePodLog(NS, pod?.metadata.name, "camel", "after 1\nafter 2\n");
    await until("after 2");
    ac.abort();
    expect(await done).toBe(0);
    expect(out).toBe("before\nafter 1\nafter 2\n");
  });
});

describe("backup and restore", () => {
  it("backup, wipe, restore gives back the integrations and the volume data byte for byte", async () => {
    const volOrders = pvcDir(sim, a.root, "orders-data");
    const volBilling = pvcDir(sim, a.root, "billing-data");
    fillVolume(volOrders, "orders");
    fillVolume(volBilling, "billing");
    const before = { orders: treeDigest(volOrders), billing: treeDigest(volBilling) };
    const cmBefore = sim
      .list("ConfigMap", NS, { labelSelector: "camel-ops.io/integration" })
      .map((c) => [c.metadata.name, c.data]);
    const confBefore = readFileSync(join(a.root, "etc/camel-runner/runner.conf"), "utf8");
    const licenseBefore = readFileSync(join(a.root, "etc/camel-runner/secrets/license.jwt"), "utf8");

    const out = join(a.root, "backups", "b1.crb");
    const b = await cli(a, ["backup", "--output", out, "--json"]);
    expect(b.err).toContain("[6/7] volumes");
    expect(b.code).toBe(0);
    const manifest = JSON.parse(b.out).manifest;
    expect(manifest.integrations).toEqual(["billing", "orders"]);
    expect(manifest.volumes.map((v: { pvc: string }) => v.pvc).sort()).toEqual(["billing-data", "orders-data"]);
    expect(Object.keys(manifest.files)).toEqual(
      expect.arrayContaining([
        "config/camel-runner/runner.conf",
        "config/camel-runner/secrets/license.jwt",
        "config/rancher-k3s/config.yaml",
        "k3s/server-token",
        "k3s/node-password",
        "k3s/db/state.db",
        "helm/values.json",
        "kube/integrations.json",
        "volumes/camel-runner/orders-data/data.bin",
      ]),
    );
    // encrypted: no plaintext of the volumes or the license in the file
    const raw = readFileSync(out);
    expect(raw.subarray(0, 8).toString()).toBe("CRBACKUP");
    expect(raw.includes(Buffer.from(licenseBefore))).toBe(false);
    expect(raw.includes(Buffer.from("S3cr3t-db-pass-4711"))).toBe(false);
    expect(statSync(out).mode & 0o777).toBe(0o600);

    // wipe: the release, its volumes, the data on disk and the settings
    await exec(HELM, ["uninstall", "runner", "--namespace", NS, "--kubeconfig", sim.kubeconfigPath, "--wait"]);
    for (const p of sim.list("PersistentVolumeClaim", NS)) sim.delete("PersistentVolumeClaim", NS, p.metadata.name);
    rmSync(join(a.root, "var/lib/rancher/k3s/storage"), { recursive: true, force: true });
    rmSync(join(a.root, "etc/camel-runner"), { recursive: true, force: true });
    expect(sim.list("Deployment", NS)).toEqual([]);

    const refused = await cli(a, ["restore", out]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("refusing to restore without confirmation; run with --yes");

    const r = await cli(a, ["restore", out, "--yes"]);
    expect(r.err).toContain("[5/6] volumes");
    expect(r.out).toContain("Restore complete");
    expect(r.code).toBe(0);

    // integrations are back
    const cmAfter = sim
      .list("ConfigMap", NS, { labelSelector: "camel-ops.io/integration" })
      .map((c) => [c.metadata.name, c.data]);
    expect(cmAfter).toEqual(cmBefore);
    expect(
      sim
        .list("Deployment", NS)
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(["billing", "orders"]);
    expect(readFileSync(join(a.root, "etc/camel-runner/runner.conf"), "utf8")).toBe(confBefore);
    expect(readFileSync(join(a.root, "etc/camel-runner/secrets/license.jwt"), "utf8")).toBe(licenseBefore);
    // volumes are back, byte for byte, in the directories of the re-created claims (new uids)
    const newOrders = pvcDir(sim, a.root, "orders-data");
    expect(newOrders).not.toBe(volOrders);
    expect(treeDigest(newOrders)).toEqual(before.orders);
    expect(treeDigest(pvcDir(sim, a.root, "billing-data"))).toEqual(before.billing);
    const status = JSON.parse((await cli(a, ["status", "--json"])).out);
    expect(status.integrations.map((i: { state: string }) => i.state)).toEqual(["running", "running"]);
  }, 120_000);

  it("--full also brings back the datastore, the server token and the node identity (K3s stopped meanwhile)", async () => {
    const out = join(a.root, "full.crb");
    expect((await cli(a, ["backup", "--output", out])).code).toBe(0);
    const files = [
      "var/lib/rancher/k3s/server/token",
      "var/lib/rancher/k3s/server/db/state.db",
      "etc/rancher/node/password",
    ];
    const before = files.map((f) => readFileSync(join(a.root, f), "utf8"));
    for (const f of files) writeFileSync(join(a.root, f), "changed since the backup");
    write(join(a.root, "etc/rancher/k3s/config.yaml"), "node-name: other\n", 0o600);
    const r = await cli(a, ["restore", out, "--yes", "--full"]);
    expect(r.code).toBe(0);
    expect(files.map((f) => readFileSync(join(a.root, f), "utf8"))).toEqual(before);
    expect(readFileSync(join(a.root, "etc/rancher/k3s/config.yaml"), "utf8")).toContain('node-name: "hub"');
    const calls = readFileSync(a.calls, "utf8");
    expect(calls.indexOf("systemctl stop k3s")).toBeGreaterThanOrEqual(0);
    expect(calls.indexOf("systemctl start k3s")).toBeGreaterThan(calls.indexOf("systemctl stop k3s"));
  }, 60_000);

  it("refuses a wrong passphrase and a damaged archive, changing nothing", async () => {
    const out = join(a.root, "b2.crb");
    expect((await cli(a, ["backup", "--output", out])).code).toBe(0);
    const wrong = await cli(a, ["restore", out, "--yes"], {
      env: { RUNNER_BACKUP_PASSPHRASE: "not the right passphrase" },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain("wrong passphrase, or the file is damaged");
    const buf = readFileSync(out);
    buf[buf.length - 100] = (buf[buf.length - 100] ?? 0) ^ 0xff;
    writeFileSync(out, buf);
    const damaged = await cli(a, ["restore", out, "--yes"]);
    expect(damaged.code).toBe(1);
    expect(damaged.err).toContain("cannot be decrypted");
    expect(JSON.parse((await cli(a, ["status", "--json"])).out).release.revision).toBe(1);
  });

  it("needs a passphrase of at least 12 characters", async () => {
    const r = await cli(a, ["backup"], { env: { RUNNER_BACKUP_PASSPHRASE: "" } });
    expect(r.code).toBe(2);
    expect(r.err).toContain("a passphrase is needed");
    const short = await cli(a, ["backup"], { env: { RUNNER_BACKUP_PASSPHRASE: "short" } });
    expect(short.code).toBe(2);
  });
});

describe("update", () => {
  it("verifies the bundle, backs up, upgrades and records the new version", async () => {
    const image = randomBytes(4096);
    const bundle = makeBundle(a, { version: "1.1.0", chartVersion: "0.2.0", image });
    const r = await cli(a, ["update", "--bundle", bundle, "--timeout", "60s", "--json"]);
    expect(r.err).toContain("[2/5] backing up first");
    expect(r.code).toBe(0);
    const res = JSON.parse(r.out);
    expect(res).toMatchObject({ updated: true, to: "1.1.0", revision: 2 });
    expect(existsSync(res.backup)).toBe(true);
    const list = await helmJson(sim, ["list"]);
    expect(list[0]).toMatchObject({ chart: "runner-0.2.0", status: "deployed", revision: "2" });
    // the integrations were kept
    expect(
      sim
        .list("Deployment", NS)
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(["billing", "orders"]);
    expect(readFileSync(join(a.root, "etc/camel-runner/runner.conf"), "utf8")).toContain("BUNDLE_VERSION=1.1.0");
    expect(readFileSync(join(a.root, "usr/local/lib/camel-runner/runner-ctl.mjs"), "utf8")).toContain("1.1.0");
    // the new images are where K3s imports them, and K3s was restarted to pick them up
    expect(readFileSync(join(a.root, "var/lib/rancher/k3s/agent/images/runner-images-amd64.tar.zst"))).toEqual(image);
    expect(readFileSync(a.calls, "utf8")).toContain("systemctl restart k3s");
  }, 120_000);

  it("rolls back by itself when the new version does not become healthy", async () => {
    const bundle = makeBundle(a, { version: "2.0.0", chartVersion: "0.3.0", extraWorkloads: ["migrator"] });
    sim.injectFault("Deployment", NS, "migrator", { type: "never-ready" });
    const r = await cli(a, ["update", "--bundle", bundle, "--timeout", "4s", "--no-backup", "--json"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("rolling back to revision 1");
    expect(r.err).toContain("Rolled back");
    expect(JSON.parse(r.out)).toMatchObject({ updated: false, rolledBack: true, status: "deployed", revision: 3 });
    const list = await helmJson(sim, ["list"]);
    expect(list[0]).toMatchObject({ chart: "runner-0.1.0", status: "deployed" });
    expect(
      sim
        .list("Deployment", NS)
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(["billing", "orders"]);
    // the previous chart and files are back; the recorded version did not move
    expect(readFileSync(join(a.root, "usr/local/lib/camel-runner/charts/runner/Chart.yaml"), "utf8")).toContain(
      "version: 0.1.0",
    );
    expect(readFileSync(join(a.root, "etc/camel-runner/runner.conf"), "utf8")).toContain("BUNDLE_VERSION=1.0.0");
    expect(existsSync(join(a.root, "usr/local/lib/camel-runner/runner-ctl.mjs"))).toBe(false);
  }, 120_000);

  it("refuses a bundle that is not signed by the release key, or was changed, before touching anything", async () => {
    const other = generateKeyPairSync("ed25519").privateKey;
    const forged = makeBundle(a, { version: "9.9.9", chartVersion: "0.9.0", key: other });
    const r = await cli(a, ["update", "--bundle", forged]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("signature is not valid");
    const tampered = makeBundle(a, { version: "9.9.8", chartVersion: "0.9.0", tamper: true });
    const t = await cli(a, ["update", "--bundle", tampered]);
    expect(t.code).toBe(1);
    expect(t.err).toContain("checksum mismatch for charts/runner/values-appliance.yaml");
    expect((await helmJson(sim, ["list"]))[0].revision).toBe("1");
  });
});

describe("support-bundle", () => {
  it("contains none of the planted secrets", async () => {
    // secrets planted everywhere a bundle looks: logs, settings, Kubernetes Secrets, Helm values, files
    const pod = sim.list("Pod", NS, { labelSelector: "camel-ops.io/integration=orders" })[0];
    sim.writePodLog(
      NS,
      pod?.metadata.name,
      "camel",
      [
        "connecting with password=hunter2-hunter2",
        "GET /api Authorization: Bearer abcdefghijklmnop1234",
        `license ${a.token}`,
        "db url jdbc:postgresql://app:pg-url-pass-555@db:5432/x",
        "",
      ].join("\n"),
    );
    sim.seed({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "orders-credentials", namespace: NS },
      data: { apiKey: Buffer.from("sk_live_planted_api_key_31337").toString("base64") },
    });
    write(
      join(a.root, "etc/camel-runner/runner.conf"),
      `${readFileSync(join(a.root, "etc/camel-runner/runner.conf"), "utf8")}HTTPS_PROXY=http://proxyuser:pr0xy-pass-888@proxy.corp:3128\n`,
      0o600,
    );
    write(
      join(a.root, "etc/rancher/k3s/config.yaml"),
      'node-name: "hub"\ntoken: "config-token-secret-1234"\nprivate-key: |\n  -----BEGIN PRIVATE KEY-----\n  MC4CAQAwBQYDK2VwBCIEIplantedprivatekeymaterial\n  -----END PRIVATE KEY-----\n',
      0o600,
    );
    const planted = [
      a.token,
      "hunter2-hunter2",
      "abcdefghijklmnop1234",
      "pg-url-pass-555",
      "sk_live_planted_api_key_31337",
      "pr0xy-pass-888",
      "config-token-secret-1234",
      "MC4CAQAwBQYDK2VwBCIEIplantedprivatekeymaterial",
      "S3cr3t-db-pass-4711",
      "server-token-secret-42",
      "agent-token-0123456789abcdef",
      "node-password-secret-77",
      "journal-secret-999",
      "correct horse battery staple",
    ];

    const out = join(a.root, "support.tar.gz");
    const r = await cli(a, ["support-bundle", "--output", out]);
    expect(r.code).toBe(0);
    const x = mkdtempSync(join(a.root, "x-"));
    expect(spawnSync("tar", ["-xzf", out, "-C", x]).status).toBe(0);
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else files.push(join(d, e.name));
      }
    };
    walk(x);
    const names = files.map((f) => f.slice(x.length + 1).replace(/^support-bundle-[^/]+\//, ""));
    expect(names).toEqual(
      expect.arrayContaining([
        "status.json",
        "host/runner.conf",
        "host/k3s-config.yaml",
        "host/k3s.log",
        "release/values.json",
        "cluster/pods.json",
        "cluster/secrets.txt",
        `logs/${pod?.metadata.name}_camel.log`,
      ]),
    );
    const all = files.map((f) => readFileSync(f, "utf8")).join("\n");
    for (const secret of planted) {
      expect(all.includes(secret), `leaked: ${secret}`).toBe(false);
      expect(all.includes(Buffer.from(secret).toString("base64")), `leaked (base64): ${secret}`).toBe(false);
    }
    // still useful: the log line is there, only the secret is gone
    expect(all).toContain("connecting with password=[REDACTED]");
    expect(all).toContain("orders-credentials (Opaque): keys apiKey");
  });
});

describe("license", () => {
  it("verifies a token offline and shows the installed license", async () => {
    const tokenFile = join(a.root, "t.jwt");
    writeFileSync(tokenFile, a.token);
    const jwks = join(a.root, "usr/local/lib/camel-runner/jwks.json");
    const ok = await cli(a, ["license", "verify", "--token-file", tokenFile, "--jwks", jwks, "--json"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ valid: true, summary: expect.stringContaining("Acme Corp") });
    const expired = await a.signToken({ exp: Math.floor(Date.now() / 1000) - 86400 * 3 });
    const bad = await cli(a, ["license", "verify", "--token", expired, "--jwks", jwks]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("expired");
    const show = await cli(a, ["license", "show"]);
    expect(show.code).toBe(0);
    expect(show.out).toContain("Customer:        Acme Corp (cus_acme)");
    expect(show.out).toMatch(/Valid until: +\d{4}-\d\d-\d\d \(\d+ days left\)/);
  });
});

describe("config set", () => {
  it("sets the proxy: settings file, K3s environment (restart) and the agent's values", async () => {
    const r = await cli(a, ["config", "set", "proxy", "http://proxy.corp:3128", "--timeout", "60s"]);
    expect(r.err).toBe("Restarting k3s with the new proxy settings\n");
    expect(r.code).toBe(0);
    const conf = readFileSync(join(a.root, "etc/camel-runner/runner.conf"), "utf8");
    expect(conf).toContain("HTTPS_PROXY=http://proxy.corp:3128");
    expect(conf).toContain("NO_PROXY=127.0.0.1,localhost,::1,10.42.0.0/16,10.43.0.0/16,.svc,.cluster.local");
    expect(readFileSync(join(a.root, "etc/camel-runner/k3s.env"), "utf8")).toContain(
      "CONTAINERD_HTTPS_PROXY=http://proxy.corp:3128",
    );
    expect(readFileSync(a.calls, "utf8")).toContain("systemctl restart k3s");
    const values = await helmJson(sim, ["get", "values", "runner"]);
    expect(values.agent.proxy).toEqual({
      httpsProxy: "http://proxy.corp:3128",
      httpProxy: "http://proxy.corp:3128",
      noProxy: "127.0.0.1,localhost,::1,10.42.0.0/16,10.43.0.0/16,.svc,.cluster.local",
    });
    expect(values.integrations).toHaveLength(2);
  }, 60_000);

  it("sets an extra CA: stored, and given to the agent", async () => {
    const pem = "-----BEGIN CERTIFICATE-----\nMIIBproxyca\n-----END CERTIFICATE-----\n";
    writeFileSync(join(a.root, "proxy-ca.pem"), pem);
    const r = await cli(a, ["config", "set", "ca", join(a.root, "proxy-ca.pem"), "--timeout", "60s"]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(a.root, "etc/camel-runner/ca.pem"), "utf8")).toBe(pem);
    expect(readFileSync(join(a.root, "etc/camel-runner/runner.conf"), "utf8")).toContain(
      "CA_FILE=/etc/camel-runner/ca.pem",
    );
    expect((await helmJson(sim, ["get", "values", "runner"])).agent.caBundle.pem).toBe(pem);
    const notPem = await cli(a, ["config", "set", "ca", join(a.root, "etc/camel-runner/runner.conf")]);
    expect(notPem.code).toBe(2);
    expect(notPem.err).toContain("is not a PEM certificate");
  }, 60_000);

  it("refuses a NO_PROXY without the cluster ranges", async () => {
    const r = await cli(a, ["config", "set", "proxy", "http://p:3128", "--no-proxy", "localhost"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--no-proxy must contain 127.0.0.1 10.42.0.0/16 10.43.0.0/16 .svc .cluster.local");
  });
});

describe("worker-token", () => {
  it("prints a short-lived CA-pinning join token made by k3s token create", async () => {
    const token = `K10${"a".repeat(64)}::abcdef.0123456789abcdef`;
    write(join(a.root, "usr/local/bin/k3s"), `#!/bin/sh\necho "k3s $*" >>"${a.calls}"\necho "${token}"\n`, 0o755);
    const r = await cli(a, ["worker-token", "--ttl", "2h"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${token}\n`);
    expect(r.err).toContain("--role worker --hub-ip");
    expect(readFileSync(a.calls, "utf8")).toContain("k3s token create --ttl 2h");
  });
});

describe("preflight", () => {
  it("prints pass/warn/fail lines and fails on a machine that is not ready", async () => {
    write(join(a.root, "sys/fs/cgroup/cgroup.controllers"), "cpu memory pids\n");
    const ok = await cli(a, ["preflight"]);
    expect(ok.out).toContain("[pass] memory cgroup: enabled");
    expect(ok.out).toContain("[pass] machine hub: ready");
    expect(ok.code).toBe(0);
    sim.setNodeCondition("hub", "Ready", "False");
    const bad = await cli(a, ["preflight", "--json"]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out).checks).toContainEqual({ name: "machine hub", result: "fail", detail: "not ready" });
  });
});

describe("with the real charts/runner", () => {
  it.skipIf(!existsSync(join(repo, "charts/runner/Chart.yaml")))(
    "status and logs find the chart's integrations by their labels",
    async () => {
      await exec(HELM, ["uninstall", "runner", "--namespace", NS, "--kubeconfig", sim.kubeconfigPath, "--wait"]);
      const chart = join(a.root, "usr/local/lib/camel-runner/charts/runner");
      rmSync(chart, { recursive: true, force: true });
      cpSync(join(repo, "charts/runner"), chart, { recursive: true });
      const values = join(a.root, "real-values.json");
      writeFileSync(
        values,
        JSON.stringify({
          agent: { licenseToken: a.token },
          integrations: [{ name: "orders", routes: { "orders.camel.yaml": "- route:\n    from: {uri: timer:t}\n" } }],
        }),
      );
      await exec(HELM, [
        "upgrade",
        "--install",
        "runner",
        chart,
        "--namespace",
        NS,
        "--create-namespace",
        "--kubeconfig",
        sim.kubeconfigPath,
        "--values",
        join(chart, "values-appliance.yaml"),
        "--values",
        values,
        "--wait",
        "--timeout",
        "90s",
      ]);
      const s = JSON.parse((await cli(a, ["status", "--json"])).out);
      expect(s.release).toMatchObject({ status: "deployed", revision: 1 });
      expect(s.integrations).toEqual([
        expect.objectContaining({ name: "orders", state: "running", exchanges: 120, failed: 3 }),
      ]);
      const pod = sim.list("Pod", NS, { labelSelector: "camel-ops.io/integration=orders" })[0];
      sim.writePodLog(NS, pod?.metadata.name, "camel", "Apache Camel started\n");
      expect((await cli(a, ["logs", "orders"])).out).toBe("Apache Camel started\n");
    },
    120_000,
  );
});
