// Done-when: a desired-state change in the cloud leads to a helm upgrade, observed health, and success reported
// with the observed generation; a never-ready workload leads to a rollback reported with evidence. Real cloud
// (startCloud + gateway on PGlite), real agent core (createAgent) with the real ClusterPort, the Kubernetes API
// simulator and the real helm binary, over real sockets.
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createAgent } from "../../agent/src/agent.ts";
import { MemoryKeyStore } from "../../agent/src/keystore.ts";
import { MemoryStateStore } from "../../agent/src/state-store.ts";
import { createOrganisation } from "../../cloud/src/services/organisations.ts";
import type { KubeSim } from "../k8s-sim/sim.ts";
import { pgliteKind, type TestDatabase } from "../support/db.ts";
import { eventually, fastAgent, issueLicense, startTunnelCloud, type TunnelCloud } from "../tunnel/harness.ts";
import {
  type ChartServer,
  type ClusterUnderTest,
  fakeCamel,
  makeCluster,
  quietLogger,
  runnerValues,
  serveChart,
  startSim,
  statusOfRelease,
} from "./harness.ts";

// helm rollouts against the simulator on a shared 2-core machine: generous per-test bounds
vi.setConfig({ testTimeout: 180_000 });

let database: TestDatabase;
let tc: TunnelCloud;
let sim: KubeSim;
let chart: ChartServer;
let camel: Awaited<ReturnType<typeof fakeCamel>>;
let cut: ClusterUnderTest;
let agent: ReturnType<typeof createAgent>;

beforeAll(async () => {
  database = await pgliteKind.open();
  [tc, sim, chart, camel] = await Promise.all([startTunnelCloud({ database }), startSim(), serveChart(), fakeCamel()]);
  // generous for the happy path on a loaded 2-core machine; the never-ready case waits for all of it
  cut = await makeCluster(sim, {
    helm: 4,
    release: "camel",
    timeoutSeconds: 20,
    camel: camel.endpoint,
    // as main.ts wires it: uploads to the cloud carry the agent's own JWT
    cloudFetch: (url, init) => agent.cloudFetch(String(url), init),
  });
  const { token } = await issueLicense(tc);
  agent = createAgent({
    cloudUrl: tc.url,
    licenseToken: token,
    cluster: cut.cluster,
    keyStore: new MemoryKeyStore(),
    stateStore: new MemoryStateStore(),
    logger: quietLogger,
    ...fastAgent,
    // the simulator, the cloud (PGlite) and the agent share this process: keep telemetry calm
    telemetryIntervalMs: 5_000,
  });
  await agent.start();
  await agent.whenConnected(15_000);
});
afterAll(async () => {
  await agent?.stop();
  await tc?.stop();
  await database?.close();
  await sim?.stop();
  await chart?.close();
  await camel?.close();
  await cut?.cleanup();
});

const putDesired = (id: string, values: Record<string, unknown>) =>
  tc.api("PUT", `/v1/appliances/${id}/desired-state`, {
    release: {
      id: `rel_${chart.version}`,
      chartVersion: chart.version,
      chartDigest: chart.digest,
      chartUrl: chart.url,
    },
    values,
    valuesDigest: createHash("sha256").update(JSON.stringify(values)).digest("hex"),
  });

async function applyResult(id: string, generation: number) {
  return eventually(
    async () => {
      const r = await tc.api("GET", `/v1/appliances/${id}/events?kind=apply.result`);
      return r.items.find((e: { data: { generation: number } }) => e.data.generation === generation);
    },
    90_000,
    `apply.result of generation ${generation}`,
  );
}

it("a desired-state change leads to a helm upgrade, observed health and success with the observed generation", async () => {
  const id = agent.status().applianceId!;
  const first = await putDesired(id, runnerValues([{ name: "orders" }]));
  const e1 = await applyResult(id, first.generation);
  expect(e1.data).toMatchObject({ outcome: "healthy", revision: 1, chartVersion: chart.version });

  const second = await putDesired(id, runnerValues([{ name: "orders", route: "changed" }]));
  expect(second.generation).toBe(first.generation + 1);
  const e2 = await applyResult(id, second.generation);
  expect(e2.data).toMatchObject({ outcome: "healthy", revision: 2, generation: second.generation });
  expect(statusOfRelease(sim, "camel", 2)).toBe("deployed");
  await eventually(
    async () => {
      const apl = await tc.api("GET", `/v1/appliances/${id}`);
      return apl.observedGeneration === second.generation;
    },
    10_000,
    "observed generation in the cloud",
  );
}, 180_000);

it("a never-ready workload leads to a rollback and a failure report with evidence; healthy again at the previous revision", async () => {
  const id = agent.status().applianceId!;
  sim.injectFault("Deployment", "default", "camel-runner-payments", { type: "never-ready" });
  const bad = await putDesired(id, runnerValues([{ name: "orders", route: "changed" }, { name: "payments" }]));
  const e = await applyResult(id, bad.generation);
  expect(e.data.outcome).toBe("rolled-back");
  expect(e.data.evidence.helmError).toMatch(/timed out|deadline|context|not ready|failed/i);
  expect(
    e.data.evidence.failingResources.some((f: { name: string }) => f.name.startsWith("camel-runner-payments")),
  ).toBe(true);
  expect(e.data.revision).toBe(4);
  expect(statusOfRelease(sim, "camel", 4)).toBe("deployed");
  expect(sim.get("Deployment", "default", "camel-runner-payments")).toBeUndefined();
  expect(sim.get("Deployment", "default", "camel-runner-orders")?.status?.readyReplicas).toBe(1);
}, 180_000);

describe("support actions through the cloud API", () => {
  const post = (key: string, id: string, action: string, body?: unknown) =>
    fetch(`${tc.url}/v1/appliances/${id}/support/${action}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body ?? {}),
      signal: AbortSignal.timeout(30_000),
    });

  it("runs an allow-listed action in the appliance and answers with its result, audited", async () => {
    const id = agent.status().applianceId!;
    const res = await post(tc.adminKey, id, "workloads");
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.done).toBe(true);
    expect(body.command).toMatchObject({ type: "support.workloads", status: "succeeded" });
    expect(body.command.result.deployments.map((d: { name: string }) => d.name)).toContain("camel-runner-orders");

    const values = await (await post(tc.adminKey, id, "helm-values")).json();
    expect(values.command.status).toBe("succeeded");
    expect(values.command.result.values.integrations[0].name).toBe("orders");

    const audit = await tc.api("GET", "/v1/audit?limit=50");
    expect(
      audit.items.some(
        (a: { action: string; targetId: string }) => a.action === "support.workloads" && a.targetId === id,
      ),
    ).toBe(true);
  });

  it("gates by role, validates arguments, refuses unknown actions and hides other organisations' appliances", async () => {
    const id = agent.status().applianceId!;
    const viewer = await tc.api("POST", "/v1/api-keys", { name: "viewer", role: "viewer" });
    expect((await post(viewer.secret, id, "helm-status")).status).toBe(200);
    expect((await post(viewer.secret, id, "logs", { args: { pod: "x" } })).status).toBe(403);
    expect((await post(tc.adminKey, id, "logs", { args: { pod: "../etc" } })).status).toBe(400);
    expect((await post(tc.adminKey, id, "exec")).status).toBe(400);
    expect((await fetch(`${tc.url}/v1/appliances/${id}/support/workloads`, { method: "POST" })).status).toBe(401);
    const other = await createOrganisation(database.db, { name: "other org", actorName: "test", at: new Date() });
    expect((await post(other.secret, id, "workloads")).status).toBe(404);
  });

  it("collects a redacted support bundle that the agent uploads and operators download, audited", async () => {
    const id = agent.status().applianceId!;
    const res = await post(tc.adminKey, id, "bundle", { args: { logTailLines: 20 } });
    const { command } = await res.json();
    expect(command.status).toBe("succeeded");
    expect(command.args.uploadUrl).toMatch(new RegExp(`/v1/agent/commands/${command.id}/bundle$`));
    expect(command.result).toMatchObject({ uploaded: true });
    expect(command.result.gzipBase64).toBeUndefined();

    const download = (key: string, cid = command.id) =>
      fetch(`${tc.url}/v1/commands/${cid}/bundle`, { headers: { authorization: `Bearer ${key}` } });
    const dl = await download(tc.adminKey);
    expect(dl.status).toBe(200);
    expect(dl.headers.get("content-type")).toBe("application/gzip");
    expect(dl.headers.get("content-disposition")).toMatch(new RegExp(`support-bundle-${id}-.*\\.json\\.gz`));
    const gz = Buffer.from(await dl.arrayBuffer());
    expect(createHash("sha256").update(gz).digest("hex")).toBe(command.result.sha256);
    const content = JSON.parse(gunzipSync(gz).toString("utf8"));
    expect(content).toMatchObject({ kind: "camel-ops-support-bundle", release: "camel" });
    expect(content.helm.status.status).toBe("deployed");
    const audit = await tc.api("GET", "/v1/audit?limit=50");
    expect(audit.items.some((a: { action: string }) => a.action === "support.bundle.download")).toBe(true);

    // operators only, own organisation only; the cloud alone says where a bundle goes
    const viewer = await tc.api("POST", "/v1/api-keys", { name: "bundle viewer", role: "viewer" });
    expect((await download(viewer.secret)).status).toBe(403);
    const other = await createOrganisation(database.db, { name: "bundle org", actorName: "test", at: new Date() });
    expect((await download(other.secret)).status).toBe(404);
    expect((await fetch(`${tc.url}/v1/commands/${command.id}/bundle`)).status).toBe(401);
    const elsewhere = await post(tc.adminKey, id, "bundle", { args: { uploadUrl: "https://evil.example/b" } });
    expect(elsewhere.status).toBe(400);
    expect((await elsewhere.json()).error.message).toMatch(/uploadUrl/);

    // the upload: the agent's JWT, the body's digest, an open bundle command of its own appliance
    const put = (cid: string, body: Buffer, sha: string, signed = true) =>
      (signed ? agent.cloudFetch : fetch)(`${tc.url}/v1/agent/commands/${cid}/bundle`, {
        method: "PUT",
        headers: { "content-type": "application/gzip", "x-content-sha256": sha },
        body: new Uint8Array(body),
      });
    const digest = createHash("sha256").update(gz).digest("hex");
    expect((await put(command.id, gz, digest, false)).status).toBe(401);
    const bad = await put(command.id, gz, "0".repeat(64));
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/x-content-sha256/);
    expect((await put(command.id, gz, digest)).status).toBe(409);
    const workloads = (await (await post(tc.adminKey, id, "workloads")).json()).command;
    expect((await put(workloads.id, gz, digest)).status).toBe(404);
    expect((await download(tc.adminKey, workloads.id)).status).toBe(404);
  });

  it("answers an echo through the generic commands route, which offers nothing else", async () => {
    const id = agent.status().applianceId!;
    const cmd = await tc.api("POST", `/v1/appliances/${id}/commands`, { type: "echo", args: { nonce: "n1" } });
    const done = await eventually(async () => {
      const c = await tc.api("GET", `/v1/commands/${cmd.id}`);
      return c.status === "succeeded" ? c : undefined;
    }, 20_000);
    expect(done.result).toMatchObject({ echo: { nonce: "n1" } });
    const legacy = await tc.fetch("POST", `/v1/appliances/${id}/commands`, { type: "restart-workload" });
    expect(legacy.status).toBe(400);
    expect((await legacy.json()).error.message).toMatch(/type/);
  });

  it("reports a refusal from the agent as a failed command (HTTP target not on the allow-list)", async () => {
    const id = agent.status().applianceId!;
    const res = await post(tc.adminKey, id, "http", { args: { service: "kubernetes", port: 443, path: "/" } });
    const body = await res.json();
    expect(body.command.status).toBe("failed");
    expect(body.command.error).toMatch(/allow-list/);
  });
});
