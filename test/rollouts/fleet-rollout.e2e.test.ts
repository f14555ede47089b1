// Done-when: a rollout across 100 real agents in-process (simulated clusters, real sockets to a real cloud with the
// gateway and the scheduler role). Waves advance; offline appliances are deferred and catch up; a cloud restart
// mid-rollout continues where it stopped; pause and resume work; a failing cohort halts the next rollout within
// its budget, and roll back returns every target to its previous release. The scheduler has its own ManualClock,
// so soak times pass when the test says so, not by sleeping.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimCluster } from "../../agent/src/sim-cluster.ts";
import { loadConfig } from "../../cloud/src/config.ts";
import { ManualClock } from "../../cloud/src/lib/clock.ts";
import { attachScheduler } from "../../cloud/src/rollouts/index.ts";
import type { Scheduler } from "../../cloud/src/rollouts/scheduler.ts";
import { type RunningCloud, startCloud } from "../../cloud/src/server.ts";
import { attachTunnel, tunnelRouters } from "../../cloud/src/tunnel/index.ts";
import { signAgentToken } from "../../shared/src/protocol/agent-token.ts";
import { tunnelAudience } from "../../shared/src/protocol/frames.ts";
import { type TestDatabase, testDbKinds } from "../support/db.ts";
import { eventually, fastGateway, issueLicense, makeAgent, type TestAgent } from "../tunnel/harness.ts";
import { fakeChart } from "./fixtures.ts";

const N = 100;
const gentleGateway = { heartbeatMs: 1_000, deadAfterMs: 15_000, stateCheckMs: 2_000, helloTimeoutMs: 15_000 };
/** no periodic telemetry (events such as apply results are sent at once regardless) */
const quietAgent = { telemetryIntervalMs: 600_000, connectTimeoutMs: 20_000, backoff: { baseMs: 200, maxMs: 2_000 } };
const LICENSES = 5;

interface Cloud {
  cloud: RunningCloud;
  scheduler: Scheduler;
  // biome-ignore lint/suspicious/noExplicitAny: API bodies are JSON the test inspects freely
  api<T = any>(method: string, path: string, body?: unknown): Promise<T>;
}

describe.each(testDbKinds)("rollout across 100 real agents ($name)", (kind) => {
  let database: TestDatabase;
  let cloud: Cloud;
  let adminKey: string;
  let port = 0;
  const clock = new ManualClock(Date.now());
  const agents: TestAgent[] = [];
  const failingRelease = new Set<string>();
  /** the failing cohort: every third agent */
  const failing = (i: number) => i % 3 === 0;

  async function start(): Promise<Cloud> {
    const config = loadConfig({
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: mkdtempSync(join(tmpdir(), "camelops-rollout-")),
      LOG_LEVEL: "silent",
      KEY_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString("base64"),
    });
    let scheduler: Scheduler | undefined;
    const running = await startCloud(config, {
      database,
      logger: pino({ level: process.env.ROLLOUT_TEST_LOG_LEVEL ?? "silent" }),
      routers: tunnelRouters,
      attach: [
        // heartbeats slower than the tunnel tests' own: 100 agents on a shared 2-core machine
        attachTunnel({ ...fastGateway, ...gentleGateway, onStop: "kill" }),
        attachScheduler({
          clock,
          intervalMs: 50,
          fleetSyncEveryMs: 200,
          alertScanEveryMs: 3_600_000,
          onScheduler: (s) => {
            scheduler = s;
          },
        }),
      ],
    });
    port = running.port;
    adminKey ??= running.bootstrap!.secret;
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(running.url + path, {
        method,
        headers: {
          authorization: `Bearer ${adminKey}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      const data = text ? JSON.parse(text) : null;
      if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${data?.error?.message ?? text}`);
      return data;
    };
    return { cloud: running, scheduler: scheduler!, api };
  }

  beforeAll(async () => {
    database = await kind.open();
    cloud = await start();
    const tokens: string[] = [];
    for (let i = 0; i < LICENSES; i++) tokens.push((await issueLicense(cloud, { maxHubs: N / LICENSES })).token);
    for (let i = 0; i < N; i++) {
      const cluster = new SimCluster({
        seed: i + 1,
        failWhen: (d) =>
          failing(i) && d.release && failingRelease.has(d.release.id) ? "CrashLoopBackOff: camel-runner" : undefined,
      });
      agents.push(makeAgent(cloud.cloud.url, tokens[i % LICENSES]!, { cluster, ...quietAgent }));
    }
    // enroll in small groups: 100 enrollments at once would only measure the 2-core machine
    for (let i = 0; i < N; i += 20) {
      const group = agents.slice(i, i + 20);
      await Promise.all(group.map((a) => a.agent.start()));
      await Promise.all(group.map((a) => a.agent.whenConnected(120_000)));
    }
  }, 360_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.agent.stop().catch(() => {})));
    await cloud?.cloud.stop();
    await database?.close();
  }, 60_000);

  const get = (id: string) => cloud.api("GET", `/v1/rollouts/${id}`);
  /** waits (polling the API) until the predicate holds for the rollout */
  // biome-ignore lint/suspicious/noExplicitAny: rollout JSON
  const until = (id: string, what: string, pred: (r: any) => boolean, timeoutMs = 60_000) =>
    eventually(
      async () => {
        const r = await get(id);
        return pred(r) ? r : undefined;
      },
      timeoutMs,
      what,
    );

  it("moves 100 appliances in waves, defers offline ones, survives a cloud restart, pauses and resumes", async () => {
    const r1 = await cloud.api("POST", "/v1/releases", {
      version: "1.0.0",
      channel: "stable",
      chartBase64: fakeChart("1.0.0"),
    });
    // five appliances go offline before the rollout starts
    const offline = agents.slice(90, 95);
    await Promise.all(offline.map((a) => a.agent.stop()));
    const offlineIds = new Set(offline.map((a) => a.applianceId()));
    await eventually(
      async () => (await cloud.api("GET", "/v1/fleet/summary")).offline === 5,
      20_000,
      "five appliances offline",
    );

    const created = await cloud.api("POST", "/v1/rollouts", {
      name: "1.0.0 everywhere",
      releaseId: r1.id,
      target: { channel: "stable" },
      strategy: {
        canarySize: 1,
        wavePercent: 20,
        concurrency: 25,
        failureBudget: "5%",
        soakSeconds: 300,
        progressDeadlineSeconds: 600,
        startsPerMinute: 1000,
      },
    });
    expect(created.waves.map((w: { size: number }) => w.size)).toEqual([1, 20, 20, 20, 20, 19]);
    const id = created.id;

    // the canary: applied, healthy, then soaking on our clock
    let r = await until(id, "canary soaking", (x) => x.waves[0].state === "soaking");
    expect(r.waves[0].counts.healthy).toBe(1);
    expect(r.waves[1].state).toBe("pending");
    expect(offlineIds.has(r.waves[0].targets[0].applianceId)).toBe(false);

    // wave by wave: settle, soak (move the scheduler's clock), next
    let restarted = false;
    let paused = false;
    for (let w = 1; w < r.waves.length; w++) {
      clock.advance(301_000);
      r = await until(
        id,
        `wave ${w} settled`,
        (x) => x.waves[w].state === "soaking" || x.waves[w].state === "completed",
      );
      expect(r.waves[w - 1].state).toBe("completed");
      expect(r.waves[w].counts.failed + r.waves[w].counts.timedOut).toBe(0);
      if (w === 2 && !restarted) {
        // the cloud dies mid-rollout (sockets cut, nothing drained); a new one on the same database continues
        restarted = true;
        await cloud.cloud.stop();
        cloud = await start();
        await eventually(
          async () => (await cloud.api("GET", "/v1/fleet/summary")).online >= N - 5,
          60_000,
          "agents reconnected to the new cloud",
        );
      }
      if (w === 3 && !paused) {
        paused = true;
        await cloud.api("POST", `/v1/rollouts/${id}/pause`, { reason: "checking dashboards" });
        clock.advance(301_000);
        await new Promise((res) => setTimeout(res, 500)); // several ticks
        const p = await get(id);
        expect(p.state).toBe("paused");
        expect(p.waves[4].state).toBe("pending"); // nothing opened while paused
        await cloud.api("POST", `/v1/rollouts/${id}/resume`);
      }
    }
    clock.advance(301_000);
    r = await until(id, "rollout completed", (x) => x.state === "completed");
    expect(r.counts).toMatchObject({ healthy: 95, deferred: 5, failed: 0, timedOut: 0 });
    const deferred = r.waves
      .flatMap((w: { targets: Array<{ applianceId: string; state: string; reason: string }> }) => w.targets)
      .filter((t: { state: string }) => t.state === "deferred");
    expect(new Set(deferred.map((t: { applianceId: string }) => t.applianceId))).toEqual(offlineIds);
    expect(deferred[0].reason).toMatch(/offline/);
    // waves completed strictly in order, each only after the previous one held
    const done = r.transitions
      .filter((t: { subject: string; to: string }) => t.subject === "wave" && t.to === "completed")
      .map((t: { waveIndex: number }) => t.waveIndex)
      .reverse();
    expect(done).toEqual([0, 1, 2, 3, 4, 5]);

    // the offline five return (a new agent process with the same key, state and cluster) and catch up
    for (let i = 90; i < 95; i++) {
      const prev = agents[i]!;
      const back = makeAgent(cloud.cloud.url, "unused: already enrolled", {
        cluster: prev.cluster,
        keyStore: prev.keyStore,
        stateStore: prev.stateStore,
        ...quietAgent,
      });
      agents[i] = back;
      await back.agent.start();
    }
    r = await until(id, "offline appliances caught up", (x) => x.counts.healthy === N && x.finishedAt !== null);
    // exactly one apply of the release per appliance, across the restart
    for (const a of agents) {
      expect(a.cluster.release?.id).toBe(r1.id);
      expect(a.cluster.applies.filter((x) => x.releaseId === r1.id)).toHaveLength(1);
    }
    const fleetPage = await cloud.api("GET", "/v1/fleet/appliances?version=1.0.0&limit=200");
    await eventually(
      async () => (await cloud.api("GET", "/v1/fleet/appliances?version=1.0.0&limit=200")).items.length === N,
      10_000,
      "fleet shows 1.0.0 everywhere",
    );
    expect(fleetPage.items.length).toBeGreaterThan(0);

    // an agent downloads the chart with its own short-lived token
    const a0 = agents[0]!;
    const key = await a0.keyStore.load();
    const token = await signAgentToken({
      applianceId: a0.applianceId(),
      audience: tunnelAudience(cloud.cloud.url),
      privateKey: key!.privateKey,
    });
    const dl = await fetch(`${cloud.cloud.url}/v1/agent/releases/${r1.id}/chart`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(dl.status).toBe(200);
    expect(dl.headers.get("x-chart-digest")).toBe(`sha256:${r1.chartDigest}`);
  }, 360_000);

  it("halts a rollout whose cohort fails, within its budget, and rolls every target back to its previous release", async () => {
    const r1 = (await cloud.api("GET", "/v1/releases?channel=stable")).items.find(
      (x: { version: string }) => x.version === "1.0.0",
    );
    const r2 = await cloud.api("POST", "/v1/releases", {
      version: "1.1.0",
      channel: "stable",
      chartBase64: fakeChart("1.1.0"),
    });
    failingRelease.add(r2.id);
    const concurrency = 10;
    const budget = 2;
    const created = await cloud.api("POST", "/v1/rollouts", {
      name: "1.1.0 (bad for a third of the fleet)",
      releaseId: r2.id,
      target: {},
      strategy: {
        canarySize: 2,
        wavePercent: 25,
        concurrency,
        failureBudget: budget,
        soakSeconds: 60,
        startsPerMinute: 1000,
      },
    });
    const id = created.id;
    // the canary is made of non-failing appliances only if the plan picks so; move time until it halts
    let r = await until(
      id,
      "first wave settled or halted",
      (x) => x.state === "halted" || x.waves[0].state === "soaking",
      60_000,
    );
    // Each step ends the soak of the wave soaking now and waits for a LATER wave to soak (or the halt): waiting for
    // "some wave soaking" alone could see the same wave again before the scheduler's next tick and use up the steps.
    const lastSoaking = (x: { waves: Array<{ state: string }> }) => x.waves.map((w) => w.state).lastIndexOf("soaking");
    for (let i = 0; i < 20 && r.state !== "halted"; i++) {
      const soaking = lastSoaking(r);
      clock.advance(61_000);
      r = await until(id, "progress", (x) => x.state === "halted" || lastSoaking(x) > soaking, 60_000);
    }
    expect(r.state).toBe("halted");
    const haltedWave = r.waves.find((w: { state: string }) => w.state === "halted");
    const failures = haltedWave.counts.failed + haltedWave.counts.timedOut;
    const allowed = haltedWave.canary ? 0 : budget;
    expect(r.haltReason).toContain(`budget ${allowed}`);
    // halted as soon as the budget was crossed: in-flight targets (concurrency) bound the overshoot
    expect(failures).toBeGreaterThan(allowed);
    expect(failures).toBeLessThanOrEqual(allowed + concurrency);
    const failedTarget = haltedWave.targets.find((t: { state: string }) => t.state === "failed");
    expect(failedTarget.reason).toMatch(/CrashLoopBackOff/);
    expect(failedTarget.evidence.failingResources[0]).toMatchObject({
      kind: "Deployment",
      reason: "ProgressDeadlineExceeded",
    });
    // nothing new starts while halted
    const started = r.waves
      .flatMap((w: { targets: Array<{ startedAt: string | null }> }) => w.targets)
      .filter((t: { startedAt: string | null }) => t.startedAt).length;
    clock.advance(61_000);
    await new Promise((res) => setTimeout(res, 500));
    r = await get(id);
    expect(
      r.waves
        .flatMap((w: { targets: Array<{ startedAt: string | null }> }) => w.targets)
        .filter((t: { startedAt: string | null }) => t.startedAt).length,
    ).toBe(started);

    // roll back: each target that moved returns to 1.0.0 (its previous release)
    r = await cloud.api("POST", `/v1/rollouts/${id}/rollback`, { reason: "CrashLoopBackOff on a third of the fleet" });
    expect(r.state).toBe("rolling-back");
    r = await until(id, "rolled back", (x) => x.state === "rolled-back");
    expect(r.counts.rolledBack).toBe(started);
    for (const a of agents) expect(a.cluster.release?.id).toBe(r1.id);
  }, 360_000);
});
