// Done-when 4: 1,000 agents reconnecting after a gateway restart arrive spread over time (measured and asserted),
// and all of them come back. Real agents with simulated clusters, one process, real sockets.
import { calculateJwkThumbprint } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agent, createAgent } from "../../agent/src/agent.ts";
import { generateAgentKey, MemoryKeyStore } from "../../agent/src/keystore.ts";
import { SimCluster } from "../../agent/src/sim-cluster.ts";
import { emptyState, MemoryStateStore } from "../../agent/src/state-store.ts";
import { appliances } from "../../cloud/src/db/schema/index.ts";
import { newId } from "../../shared/src/ids.ts";
import { tunnelAudience } from "../../shared/src/protocol/frames.ts";
import { type TestDatabase, testDbKinds } from "../support/db.ts";
import { eventually, issueLicense, startTunnelCloud, type TunnelCloud } from "./harness.ts";

const N = Number(process.env.STORM_N ?? 1_000);
/**
 * Goaway delays are uniform over [0, SPREAD_MS]. Long against the restart itself (drain, stop, a new cloud on the
 * same port: 1-5 s on a loaded 2-core CI machine), so most of the fleet's delays end after the new gateway listens.
 */
const SPREAD_MS = 15_000;
const gatewayOpts = {
  // Production-like intervals: the sweep and heartbeats cost CPU per held session, which this test does not measure.
  heartbeatMs: 10_000,
  deadAfterMs: 30_000,
  sweepMs: 10_000,
  stateCheckMs: 60_000,
  drainSpreadMs: SPREAD_MS,
  drainTimeoutMs: 3_000,
  admission: { ratePerSec: 600, burst: 300, retryAfterMs: [200, 1_500] as [number, number] },
};

function quantile(sorted: number[], q: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

describe.each(testDbKinds)("reconnect storm ($name)", (kind) => {
  let database: TestDatabase;
  const agents: Agent[] = [];
  let cloud: TunnelCloud | undefined;
  beforeAll(async () => {
    database = await kind.open();
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await cloud?.stop();
    await database?.close();
  });

  it(`${N} agents come back after a gateway restart, spread over time`, { timeout: 300_000 }, async () => {
    cloud = await startTunnelCloud({
      database,
      gateway: { ...gatewayOpts, admission: { ratePerSec: 2_000, burst: 2_000 } },
      onStop: "drain",
    });
    const { licenseId } = await issueLicense(cloud, { maxHubs: 100 });
    const [lic] = await database.db.query.licenses.findMany({ where: (l, { eq }) => eq(l.id, licenseId) });
    // The fleet is enrolled in bulk (enrollment itself is tested elsewhere).
    const fleet = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const key = generateAgentKey();
        return { id: newId("appliance"), key, thumbprint: await calculateJwkThumbprint(key.publicJwk), i };
      }),
    );
    await database.db.insert(appliances).values(
      fleet.map((f) => ({
        id: f.id,
        orgId: lic!.orgId,
        customerId: lic!.customerId,
        licenseId,
        name: `sim-${f.i}`,
        publicKey: f.key.publicJwk,
        keyThumbprint: f.thumbprint,
      })),
    );
    const url = cloud.url;
    for (const f of fleet) {
      const state = emptyState();
      state.enrollment = {
        applianceId: f.id,
        tunnelUrl: `${url}/v1/tunnel`,
        audience: tunnelAudience(url),
        cloudUrl: url,
      };
      agents.push(
        createAgent({
          cloudUrl: url,
          keyStore: new MemoryKeyStore(f.key),
          stateStore: new MemoryStateStore(state),
          cluster: new SimCluster({ seed: f.i + 1 }),
          backoff: { baseMs: 500, maxMs: 5_000 },
          telemetryIntervalMs: 600_000,
          connectTimeoutMs: 30_000,
          closeTimeoutMs: 1_000,
        }),
      );
    }
    const tStart = performance.now();
    const cpu0 = process.cpuUsage();
    // The first connect is set-up, not what is measured: start the fleet in batches.
    for (let i = 0; i < N; i += 100) {
      await Promise.all(agents.slice(i, i + 100).map((a) => a.start()));
      await eventually(() => cloud!.gateway.sessions.size >= Math.min(N, i + 100) - 5, 60_000, `batch ${i}`);
    }
    const progress = setInterval(() => {
      const phases: Record<string, number> = {};
      for (const a of agents) phases[a.status().phase] = (phases[a.status().phase] ?? 0) + 1;
      if (process.env.STORM_DEBUG)
        console.log(
          Math.round(performance.now() - tStart),
          cloud?.gateway.sessions.size,
          cloud?.gateway.inFlightCount,
          cloud?.gateway.stats.upgrades,
          JSON.stringify(phases),
          JSON.stringify(cloud?.gateway.stats.refused),
          JSON.stringify(agents.find((a) => a.status().phase !== "connected")?.status()),
        );
    }, 2000);
    await eventually(() => cloud!.gateway.sessions.size === N, 120_000, `${N} sessions`);
    clearInterval(progress);
    const cpu = process.cpuUsage(cpu0);
    if (process.env.STORM_DEBUG)
      console.log(
        `initial connect: ${Math.round(performance.now() - tStart)} ms wall, ${Math.round((cpu.user + cpu.system) / 1000)} ms cpu`,
      );

    // Restart: drain (goaway with a random reconnect delay each), then a new gateway on the same port.
    const port = cloud.port;
    const first = cloud;
    cloud = undefined;
    const t0 = performance.now();
    await first.stop();
    cloud = await startTunnelCloud({ database, port, gateway: gatewayOpts, onStop: "close" });
    const listening = performance.now() - t0;
    const arrivals: number[] = [];
    const seen = new Set<string>();
    cloud.gateway.onSessionLive = (s) => {
      if (!seen.has(s.applianceId)) {
        seen.add(s.applianceId);
        arrivals.push(performance.now() - t0);
      }
    };
    await eventually(() => seen.size === N, 120_000, `all ${N} back (have ${seen.size})`);
    arrivals.sort((a, b) => a - b);
    const p10 = quantile(arrivals, 0.1);
    const p50 = quantile(arrivals, 0.5);
    const p90 = quantile(arrivals, 0.9);
    const refused = cloud.gateway.stats.refused;
    console.log(
      `reconnect storm (${kind.name}): p10=${Math.round(p10)} p50=${Math.round(p50)} p90=${Math.round(p90)} ms, last=${Math.round(arrivals[N - 1]!)} ms, new gateway listening after ${Math.round(listening)} ms, refused=${JSON.stringify(refused)}`,
    );
    // Uniform goaway delays over [0, SPREAD_MS] put p90 - p10 near 0.8 * SPREAD_MS; a synchronised fleet would
    // arrive within a few hundred ms. The floor leaves room for a slow machine compressing or stretching it.
    expect(p90 - p10).toBeGreaterThan(0.4 * SPREAD_MS);
    expect(cloud.gateway.sessions.size).toBe(N);
  });
});
